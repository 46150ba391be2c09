//! The command line. Every setting also reads a `LAMBKIN_*` variable. Defaults are the layers'
//! own (`FrontDoor::default()`, `RegistryLimits::default()`, ...), stated once; a test checks
//! the README's table of settings against these flags.

use clap::{Args, Parser, Subcommand};
use lambkin_api::connections::ConnectionLimits;
use lambkin_api::public_url::PublicUrl;
use lambkin_api::server::FrontDoor;
use lambkin_invoke::IDLE_TIMEOUT;
use lambkin_invoke::worker::AsyncSettings;
use lambkin_registry::{ACCOUNT_CONCURRENCY, RegistryLimits};
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
    Serve(Box<ServeArgs>),
    /// Run a function once, locally, in a fresh execution environment.
    Invoke(Box<InvokeArgs>),
    /// Print a function's log, as `aws logs tail` does, from this node's log store.
    Logs(LogsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The function (its log group `/aws/lambda/<function>`), or a log group (starting with `/`).
    pub function: String,
    /// Keep printing new events as they are written.
    #[arg(long, short)]
    pub follow: bool,
    /// How far back to start: seconds (`90s`), minutes (`10m`), hours (`2h`) or days (`1d`).
    #[arg(long, default_value = "10m", value_parser = parse_age)]
    pub since: std::time::Duration,
    /// Where the server keeps its state.
    #[arg(long, env = "LAMBKIN_DATA_DIR", default_value = ".lambkin")]
    pub data_dir: PathBuf,
}

fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not an age such as 10m"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{text}': the unit is s, m, h or d")),
    };
    Ok(std::time::Duration::from_secs(n * seconds))
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
    /// How the function URLs handed out are spelled: a base (`https://fn.example.com`, each URL
    /// `<base>/lambda-url/<id>/`) or a template naming `{id}` (`https://{id}.fn.example.com/`,
    /// also served by Host header). Default: the listener, `http://<listen>/lambda-url/<id>/`.
    #[arg(long, env = "LAMBKIN_PUBLIC_URL", value_parser = PublicUrl::parse)]
    pub public_url: Option<PublicUrl>,
    /// Object store URL: `file://<dir>` (default: the data directory) or `s3://bucket/prefix`.
    #[arg(long, env = "LAMBKIN_STORE")]
    pub store: Option<String>,
    /// Multiplies every asynchronous delay (retry waits, backoff) and maximum event age; 0.001
    /// turns Lambda's minutes into milliseconds for tests.
    #[arg(long, env = "LAMBKIN_ASYNC_TIME_SCALE", default_value_t = AsyncSettings::default().time_scale, value_parser = positive_scale)]
    pub async_time_scale: f64,
    /// Largest asynchronous (Event) payload in bytes (Lambda: 256 KB).
    #[arg(long, env = "LAMBKIN_ASYNC_MAX_PAYLOAD", default_value_t = FrontDoor::default().async_max_payload)]
    pub async_max_payload: usize,
    /// Asynchronous deliveries in flight at once.
    #[arg(long, env = "LAMBKIN_ASYNC_WORKERS", default_value_t = AsyncSettings::default().workers as u32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub async_workers: u32,
    /// The account's concurrency limit: invocations running at once, reserved concurrency
    /// included.
    #[arg(long, env = "LAMBKIN_ACCOUNT_CONCURRENCY", default_value_t = ACCOUNT_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub account_concurrency: u32,
    /// Seconds an on-demand execution environment may stay idle before it is shut down.
    #[arg(long, env = "LAMBKIN_IDLE_TIMEOUT", default_value_t = IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout: u64,
    /// Execution environments this node holds at once, all functions together (default: one
    /// per 16 MiB of memory, 64 to 8,192). Past it, idle environments are evicted least recently
    /// used first; with none idle, invocations are throttled.
    #[arg(long, env = "LAMBKIN_MAX_ENVIRONMENTS", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_environments: Option<u32>,
    /// Compiles and SnapStart snapshots that run at once (default: one per core, at most 16).
    #[arg(long, env = "LAMBKIN_COMPILE_WORKERS", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub compile_workers: Option<u32>,
    /// Connections served at once (fewer if the open-files limit is low); past it the one idle
    /// the longest is closed for the newcomer.
    #[arg(long, env = "LAMBKIN_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections as u32, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a request's headers may take to arrive, and a kept-alive connection may stay
    /// idle before its next request.
    #[arg(long, env = "LAMBKIN_HEADER_TIMEOUT", default_value_t = ConnectionLimits::default().header_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a request body may pause before the request is refused.
    #[arg(long, env = "LAMBKIN_BODY_TIMEOUT", default_value_t = ConnectionLimits::default().body_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Most bytes a streamed response may carry (Lambda: 20 MB).
    #[arg(long, env = "LAMBKIN_STREAM_MAX_BYTES", default_value_t = FrontDoor::default().stream_max_bytes)]
    pub stream_max_bytes: usize,
    /// Most asynchronous events awaiting delivery; past it Event invocations get a 429.
    #[arg(long, env = "LAMBKIN_ASYNC_MAX_QUEUE", default_value_t = FrontDoor::default().async_max_queue as u64, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub async_max_queue: u64,
    /// Seconds a shutdown (SIGINT, SIGTERM) waits for requests and deliveries in flight.
    #[arg(long, env = "LAMBKIN_SHUTDOWN_TIMEOUT", default_value_t = FrontDoor::default().shutdown_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout: u64,
    /// Most functions the account may hold.
    #[arg(long, env = "LAMBKIN_MAX_FUNCTIONS", default_value_t = RegistryLimits::default().max_functions as u64, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_functions: u64,
    /// Most published versions kept per function.
    #[arg(long, env = "LAMBKIN_MAX_VERSIONS", default_value_t = RegistryLimits::default().max_versions as u64, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_versions: u64,
    /// Most layer versions kept, all layers together.
    #[arg(long, env = "LAMBKIN_MAX_LAYER_VERSIONS", default_value_t = RegistryLimits::default().max_layer_versions as u64, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_layer_versions: u64,
    /// An AWS shared credentials file: requests must be signed (SigV4) with one of its keys.
    #[arg(long, env = "LAMBKIN_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// An access key requests may be signed with (with --secret-access-key).
    #[arg(long, env = "LAMBKIN_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// The secret of --access-key-id (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "LAMBKIN_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// Accept unsigned requests on a non-loopback address when no credentials are given.
    #[arg(long, env = "LAMBKIN_ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,
    /// Accept hot-reload code (`Code.S3Bucket` `hot-reload`, `S3Key` a path on this host) on a
    /// non-loopback address: any caller may then mount host paths, read-only, into functions.
    #[arg(long, env = "LAMBKIN_ALLOW_HOT_RELOAD")]
    pub allow_hot_reload: bool,
    /// The operator's egress policy: a TOML file of named profiles (allowed HTTP origins, TCP
    /// destinations, CA files). A function reaches the network only through the profile its
    /// `lambkin:egress` tag names; by default no function has any network.
    #[arg(long, env = "LAMBKIN_EGRESS_POLICY")]
    pub egress_policy: Option<PathBuf>,
    /// Most megabytes of function logs this node keeps (under `logs/` in the data directory);
    /// past it the oldest go first. Each log group's retention applies as well. 0 keeps none
    /// (the Tail log of a synchronous call is still returned).
    #[arg(long, env = "LAMBKIN_LOGS_MAX_MB", default_value_t = 1024)]
    pub logs_max_mb: u64,
    /// Where to send traces (OpenTelemetry OTLP over HTTP): a collector such as
    /// `http://127.0.0.1:4318`, or its full `/v1/traces` URL. Unset, no span leaves the node.
    #[arg(long, env = "LAMBKIN_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn positive_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale > 0.0 && scale <= 1000.0 => Ok(scale),
        _ => Err(format!("{text} is not a time scale in (0, 1000]")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct InvokeArgs {
    /// The function: a WebAssembly component built against the lambkin guest SDK, or with a
    /// managed `--runtime` a directory or zip of sources.
    pub code: PathBuf,
    /// A managed runtime (`python3.14`, `nodejs22.x`) that runs the sources.
    #[arg(long)]
    pub runtime: Option<String>,
    /// The handler, as Lambda's (default: `lambda_function.lambda_handler` for Python,
    /// `index.handler` for Node.js).
    #[arg(long)]
    pub handler: Option<String>,
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
    /// Lets the function reach the network: `--allow-net` alone allows every HTTP origin and
    /// TCP destination outside loopback, link-local and the unspecified address;
    /// `--allow-net=https://api.example.com,http://127.0.0.1:8080,tcp://10.0.0.5:5432` only those.
    #[arg(long, value_name = "PATTERNS", num_args = 0..=1, require_equals = true, default_missing_value = "*", value_delimiter = ',')]
    pub allow_net: Option<Vec<String>>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every row of the README's settings table names real flags of `serve` with their
    /// environment variables, and states each flag's default as clap has it.
    #[test]
    fn the_readme_states_every_setting_and_default() {
        let readme = include_str!("../../README.md");
        let command = super::Cli::command();
        let serve = command.find_subcommand("serve").expect("serve");
        let cells = |line: &str| -> Vec<String> { line.split('|').map(|c| c.trim().to_string()).collect() };
        let names = |cell: &str| -> Vec<String> {
            cell.split(" / ")
                .map(|part| part.split('`').nth(1).unwrap_or_default().to_string())
                .collect()
        };
        let mut documented = std::collections::BTreeSet::new();
        for line in readme
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains("`--"))
        {
            let row = cells(line);
            let (flags, envs, defaults) = (
                names(&row[2]),
                names(&row[3]),
                row[4].split(" / ").collect::<Vec<_>>(),
            );
            assert_eq!(flags.len(), envs.len(), "{line}");
            for (i, flag) in flags.iter().enumerate() {
                let long = flag.trim_start_matches("--");
                let arg = serve
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long))
                    .unwrap_or_else(|| panic!("the README names {flag}, which `serve` does not have"));
                let env = arg.get_env().map(|e| e.to_string_lossy().to_string());
                assert_eq!(env.as_deref(), Some(envs[i].as_str()), "{flag}'s variable");
                if let Some(default) = arg.get_default_values().first() {
                    let default = default.to_string_lossy();
                    let stated = defaults.get(i).copied().unwrap_or(defaults[0]);
                    assert!(
                        stated.contains(default.as_ref()),
                        "the README gives {flag} the default {stated:?}, clap has {default}"
                    );
                }
                documented.insert(long.to_string());
            }
        }
        for arg in serve.get_arguments() {
            if let Some(long) = arg.get_long().filter(|l| *l != "help") {
                assert!(
                    documented.contains(long),
                    "--{long} is missing from the README's table of settings"
                );
            }
        }
    }
}
