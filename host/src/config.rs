//! The command line. Every setting also reads a `LAMBKIN_*` variable (SPEC §7).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "lambkin", version, about = "Lambda semantics, wasm speed")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the AWS Lambda API) on the listen address.
    Serve(ServeArgs),
    /// Run a function once, locally, in a fresh execution environment.
    Invoke(InvokeArgs),
}

/// Settings every command shares.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Where lambkin keeps its state (compiled code cache, registry, queues).
    #[arg(long, env = "LAMBKIN_DATA_DIR", default_value = ".lambkin")]
    pub data_dir: PathBuf,
    /// The region in ARNs and in AWS_REGION.
    #[arg(long, env = "LAMBKIN_REGION", default_value = "us-east-1")]
    pub region: String,
    /// The account id in ARNs.
    #[arg(long, env = "LAMBKIN_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of the HTTP listener.
    #[arg(long, env = "LAMBKIN_LISTEN", default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    /// Object store URL: `file://<dir>` (default: the data directory) or `s3://bucket/prefix`.
    #[arg(long, env = "LAMBKIN_STORE")]
    pub store: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InvokeArgs {
    /// The function: a WebAssembly component built against the lambkin guest SDK.
    pub wasm: PathBuf,
    /// The event: JSON text, or @path to read it from a file.
    #[arg(long, default_value = "{}")]
    pub payload: String,
    /// MemorySize in MB: the cap on the function's linear memory.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(128..=10240))]
    pub memory: u32,
    /// Timeout in seconds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=900))]
    pub timeout: u64,
    /// EphemeralStorage in MB: the cap on bytes in /tmp (Lambda's minimum is 512; smaller sizes
    /// are allowed here for local testing).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=10240))]
    pub tmp_size: u32,
    /// A function environment variable, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}
