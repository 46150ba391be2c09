//! The `lambkin` binary: parses flags and hands over to the library, with the managed runtimes
//! `build.rs` made embedded here (not in the library, which every test binary links).

use clap::Parser;
use lambkin_host::config::{Cli, Command};
use lambkin_host::runtimes::Embedded;
use std::process::ExitCode;

/// The managed runtimes `build.rs` built (an empty component for one it could not build).
const RUNTIMES: &[Embedded] = &[
    Embedded {
        name: "python3.14",
        wasm: include_bytes!(env!("LAMBKIN_RUNTIME_PYTHON_WASM")),
        files_zip: include_bytes!(env!("LAMBKIN_RUNTIME_PYTHON_FILES")),
        version: env!("LAMBKIN_RUNTIME_PYTHON_VERSION"),
    },
    Embedded {
        name: "nodejs22.x",
        wasm: include_bytes!(env!("LAMBKIN_RUNTIME_NODE_WASM")),
        files_zip: include_bytes!(env!("LAMBKIN_RUNTIME_NODE_FILES")),
        version: env!("LAMBKIN_RUNTIME_NODE_VERSION"),
    },
];

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAMBKIN_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match Cli::parse().command {
        Command::Invoke(args) => lambkin_host::local::run(*args, RUNTIMES).await,
        Command::Logs(args) => lambkin_host::logs::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => lambkin_host::serve::run(*args, RUNTIMES)
            .await
            .map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}
