//! `lambkin invoke`: run a function once in a fresh environment. The response goes to stdout,
//! the log to stderr; the exit status is 1 on a function error. The function is a component, or
//! with `--runtime` a directory or zip of sources run by that managed runtime, mounted as a
//! function of it would be (the runtime compiles once into the data directory's cache).

use anyhow::{Context as _, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::config::InvokeArgs;
use crate::runtimes::Embedded;
use bytes::Bytes;
use lambkin_egress::{Policy, Profile};
use lambkin_invoke::stream::{ResponseStream, StreamEvent};
use lambkin_registry::runtimes::{MANAGED_RUNTIMES, default_handler, runtime_version_arn};
use lambkin_registry::validate_environment;
use lambkin_registry::{package, validate};
use lambkin_sandbox::{ExecutionEnvironment, FunctionSpec, InvokeRequest, Sandbox, SandboxConfig};

pub async fn run(args: InvokeArgs, runtimes: &[Embedded]) -> anyhow::Result<ExitCode> {
    let payload = read_payload(&args.payload)?;
    let environment = parse_env(&args.env)?;
    validate_environment(&environment).map_err(anyhow::Error::msg)?;

    let egress = match &args.allow_net {
        Some(patterns) => Some(Profile::from_patterns(patterns)?),
        None => None,
    };
    let mut spec = FunctionSpec::new(
        &function_name(&args),
        &args.common.region,
        &args.common.account_id,
    );
    spec.egress_profile = egress.as_ref().map(|p| p.name.clone());
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(args.common.data_dir.join("compiled")),
        environments_dir: None,
        // One invocation in one environment.
        environments: 1,
        compile_workers: 1,
        egress_policy: Arc::new(egress.map(Policy::of).unwrap_or_default()),
        own_listeners: Vec::new(),
        // The log is printed; `invoke` keeps none.
        log_sink: None,
    })?;
    spec.memory_mb = args.memory;
    spec.timeout = Duration::from_secs(args.timeout);
    spec.ephemeral_storage_mb = args.tmp_size;
    spec.environment = environment;
    let wasm = match &args.runtime {
        Some(runtime) => with_runtime(&args, runtime, runtimes, &mut spec).await?,
        None if args.code.is_dir() || is_zip(&args.code) => bail!(
            "{} holds sources: name the runtime that runs them with --runtime ({})",
            args.code.display(),
            MANAGED_RUNTIMES.join(" or ")
        ),
        None => std::fs::read(&args.code)
            .with_context(|| format!("reading {}", args.code.display()))?
            .into(),
    };

    let code = sandbox
        .load(&wasm)
        .with_context(|| format!("{} cannot be run", args.code.display()))?;
    let function = sandbox
        .prepare(&code, spec)
        .with_context(|| format!("{} cannot be run", args.code.display()))?;

    let mut environment = match ExecutionEnvironment::start(&Arc::clone(&function)).await {
        Ok(env) => env,
        Err(failure) => {
            eprint!("{}", failure.log);
            println!("{}", failure.error.to_json());
            return Ok(ExitCode::FAILURE);
        }
    };
    // A streaming function's chunks go to stdout as it writes them, as InvokeWithResponseStream
    // sends them; what it returns follows. Locally a stream has no cap.
    let mut stream = ResponseStream::new(usize::MAX, |chunks| {
        environment.invoke(InvokeRequest {
            payload: payload.into(),
            stream: Some(chunks),
            ..InvokeRequest::default()
        })
    });
    let mut streamed = false;
    let invocation = loop {
        match stream.next().await {
            Some(StreamEvent::Chunk(chunk)) => streamed |= print_chunk(&chunk)?,
            Some(StreamEvent::CutOff) => {}
            Some(StreamEvent::End(invocation)) => break invocation,
            None => bail!("the invocation ended without a result"),
        }
    };
    eprint!("{}", invocation.log);
    let mut stdout = std::io::stdout().lock();
    match invocation.result {
        // A stream ends as the function wrote it: no newline of lambkin's after it.
        Ok(body) if streamed && body.is_empty() => Ok(ExitCode::SUCCESS),
        Ok(body) => {
            stdout.write_all(&body)?;
            writeln!(stdout)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            writeln!(stdout, "{}", error.to_json())?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Makes `spec` a function of the managed `runtime` whose sources are `args.code` (a directory,
/// mounted as it is, or a zip, unpacked once per hash); returns the runtime's component.
async fn with_runtime(
    args: &InvokeArgs,
    runtime: &str,
    embedded: &[Embedded],
    spec: &mut FunctionSpec,
) -> anyhow::Result<Bytes> {
    let Some(entry) = embedded.iter().find(|e| e.name == runtime) else {
        bail!(
            "--runtime {runtime} is not a managed runtime of lambkin ({}); a component needs no --runtime",
            MANAGED_RUNTIMES.join(", ")
        );
    };
    let data_dir = &args.common.data_dir;
    let managed = crate::runtimes::unpack(std::slice::from_ref(entry), data_dir)
        .await?
        .pop()
        .with_context(|| format!("this lambkin was built without the {runtime} runtime"))?;
    let task_dir = if args.code.is_dir() {
        std::fs::canonicalize(&args.code).with_context(|| format!("reading {}", args.code.display()))?
    } else {
        let zip = std::fs::read(&args.code).with_context(|| format!("reading {}", args.code.display()))?;
        package::check_layer(&zip).with_context(|| format!("{} is not a usable zip", args.code.display()))?;
        let root = data_dir.join("task");
        let dest = root.join(lambkin_sandbox::code_sha256(&zip));
        package::unpack_once(vec![zip.into()], root, dest).await?
    };
    spec.task_dir = Some(task_dir);
    spec.runtime_dir = managed.files;
    spec.handler = args
        .handler
        .clone()
        .unwrap_or_else(|| default_handler(runtime).to_string());
    validate::handler(&spec.handler).map_err(anyhow::Error::msg)?;
    let version_arn = runtime_version_arn(
        &args.common.region,
        &managed.version,
        &lambkin_sandbox::code_sha256(&managed.wasm),
    );
    spec.managed_runtime = Some((runtime.to_string(), version_arn));
    Ok(managed.wasm)
}

fn is_zip(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Writes one streamed chunk and flushes it, so a pipe sees it now; true if there was one.
fn print_chunk(chunk: &[u8]) -> anyhow::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(chunk)?;
    stdout.flush()?;
    Ok(!chunk.is_empty())
}

/// The event bytes: inline JSON or `@file`, checked to be JSON as Lambda requires.
fn read_payload(arg: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = match arg.strip_prefix('@') {
        Some(path) => std::fs::read(path).with_context(|| format!("reading payload file {path}"))?,
        None => arg.as_bytes().to_vec(),
    };
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        bail!("the payload is not valid JSON: {e}");
    }
    Ok(bytes)
}

fn parse_env(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!("--env takes KEY=VALUE, got {pair:?}"),
        })
        .collect()
}

/// The function's name: the file's stem (`hello.wasm` → `hello`, `src/hello` → `hello`).
fn function_name(args: &InvokeArgs) -> String {
    args.code
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "function".to_string())
}
