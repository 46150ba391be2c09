//! `lambkin serve`: the server opened from its flags, served until SIGINT or SIGTERM.

use crate::runtimes::Embedded;
use anyhow::Context;
use lambkin_api::connections::ConnectionLimits;
use lambkin_api::public_url::PublicUrl;
use lambkin_api::server::{self, FrontDoor, ServerConfig};
use lambkin_invoke::worker::AsyncSettings;
use lambkin_registry::Buckets;
use lambkin_sandbox::{Sandbox, SandboxConfig};
use std::sync::Arc;

use crate::config::ServeArgs;

/// Serves until a shutdown signal, with the managed runtimes the binary carries.
pub async fn run(args: ServeArgs, runtimes: &[Embedded]) -> anyhow::Result<()> {
    let open_files = raise_open_files_limit();
    let data_dir = args.common.data_dir.clone();
    let credentials = lambkin_api::auth::Credentials::load(
        args.credentials_file.as_deref(),
        args.access_key_id.as_deref(),
        args.secret_access_key.as_deref(),
    )?;
    lambkin_api::auth::check_exposure(args.listen, &credentials, args.allow_anonymous)
        .map_err(anyhow::Error::msg)?;
    remove_staging_files(&args);
    let egress_policy = match &args.egress_policy {
        Some(path) => lambkin_egress::Policy::load(path)?,
        None => lambkin_egress::Policy::default(),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    let logs = match args.logs_max_mb {
        0 => None,
        max_mb => {
            let dir = data_dir.join("logs");
            let store = lambkin_logs::LogStore::open(&dir, max_mb << 20)
                .with_context(|| format!("opening the log store at {}", dir.display()))?;
            Some(Arc::new(store))
        }
    };
    let log_sink: Option<Arc<dyn lambkin_logs::LogSink>> = match &logs {
        Some(store) => Some(Arc::new(
            lambkin_logs::LogWriter::start(store.clone()).context("starting the log writer")?,
        )),
        None => None,
    };
    let defaults = SandboxConfig::default();
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(data_dir.join("compiled")),
        environments_dir: None,
        environments: fit_open_files(
            "execution environments",
            args.max_environments.unwrap_or(defaults.environments),
            open_files / ENVIRONMENTS_SHARE_OF_OPEN_FILES,
        ),
        compile_workers: args
            .compile_workers
            .map_or(defaults.compile_workers, |n| n as usize),
        egress_policy: Arc::new(egress_policy),
        own_listeners: vec![address],
        log_sink,
    })?;
    let runtimes = crate::runtimes::unpack(runtimes, &data_dir).await?;
    let telemetry = lambkin_telemetry::Telemetry {
        metrics: Default::default(),
        tracer: match &args.otlp_endpoint {
            Some(endpoint) => Some(Arc::new(
                lambkin_telemetry::trace::Tracer::otlp(endpoint).context("--otlp-endpoint")?,
            )),
            None => None,
        },
    };
    let state = server::start(ServerConfig {
        sandbox: sandbox.clone(),
        store: open_store(&args)?,
        // Several nodes may share an S3 store; a local one belongs to this node.
        store_refresh: args
            .store
            .as_deref()
            .is_some_and(|url| url.starts_with("s3://"))
            .then_some(lambkin_registry::REFRESH_EVERY),
        buckets: match args.store.as_deref() {
            Some(url) if url.starts_with("s3://") => Buckets::S3,
            _ => Buckets::Local(local_store(&data_dir.join("buckets"))?),
        },
        data_dir,
        region: args.common.region.clone(),
        account_id: args.common.account_id.clone(),
        front_door: FrontDoor {
            public_url: args
                .public_url
                .clone()
                .unwrap_or_else(|| PublicUrl::local(address)),
            async_max_payload: args.async_max_payload,
            stream_max_bytes: args.stream_max_bytes,
            async_max_queue: args.async_max_queue as usize,
            shutdown_timeout: std::time::Duration::from_secs(args.shutdown_timeout),
            connections: ConnectionLimits {
                max_connections: fit_open_files(
                    "connections",
                    args.max_connections,
                    open_files / CONNECTIONS_SHARE_OF_OPEN_FILES,
                ) as usize,
                header_timeout: std::time::Duration::from_secs(args.header_timeout),
                body_timeout: std::time::Duration::from_secs(args.body_timeout),
            },
        },
        async_settings: AsyncSettings {
            time_scale: args.async_time_scale,
            workers: args.async_workers as usize,
        },
        account_concurrency: args.account_concurrency,
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout),
        credentials,
        limits: lambkin_registry::RegistryLimits {
            max_functions: args.max_functions as usize,
            max_versions: args.max_versions as usize,
            max_layer_versions: args.max_layer_versions as usize,
        },
        runtimes,
        // A caller who may mount host paths into functions is a local developer.
        hot_reload: args.listen.ip().is_loopback() || args.allow_hot_reload,
        logs,
        telemetry: telemetry.clone(),
    })
    .await?;
    let egress_profiles: Vec<&str> = sandbox.egress_policy().profile_names().collect();
    tracing::info!(%address, ?egress_profiles, signed = state.auth.is_some(), pooling = sandbox.uses_pooling_allocator(), environments = sandbox.environments(), queued = state.events.depth(), "lambkin serving");
    server::run(listener, state, shutdown_signal()).await?;
    if let Some(tracer) = telemetry.tracer {
        // The last spans go out before the process does (blocking: off the runtime's threads).
        let _ = tokio::task::spawn_blocking(move || tracer.flush()).await;
    }
    tracing::info!("lambkin stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

/// The object store of `--store`: `file://<dir>` (by default the data directory), or
/// `s3://bucket/prefix` configured from the `AWS_*` environment (credentials, region,
/// `AWS_ENDPOINT_URL` for S3-compatible servers).
fn open_store(args: &ServeArgs) -> anyhow::Result<Arc<dyn object_store::ObjectStore>> {
    let Some(url) = args.store.as_deref() else {
        return local_store(&args.common.data_dir);
    };
    if let Some(path) = url.strip_prefix("file://") {
        return local_store(std::path::Path::new(path));
    }
    let Some(location) = url.strip_prefix("s3://") else {
        anyhow::bail!("--store {url}: expected file://<dir> or s3://<bucket>[/<prefix>]");
    };
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .with_context(|| format!("configuring the S3 store {url}"))?;
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Ok(Arc::new(s3));
    }
    Ok(Arc::new(object_store::prefix::PrefixStore::new(s3, prefix)))
}

/// Removes the staging files a crash left in the local stores: the registry's (unless it is on
/// S3) and the async queue's.
fn remove_staging_files(args: &ServeArgs) {
    let data_dir = &args.common.data_dir;
    let registry = match args.store.as_deref() {
        None => Some(data_dir.clone()),
        Some(url) => url.strip_prefix("file://").map(std::path::PathBuf::from),
    };
    let mut roots: Vec<_> = registry.into_iter().collect();
    let queue = data_dir.join("queue");
    if !roots.iter().any(|root| queue.starts_with(root)) {
        roots.push(queue);
    }
    // Buckets and unpacked layers hold users' files, whatever their names.
    let skip = [data_dir.join("buckets"), data_dir.join("opt")];
    let removed: usize = roots
        .iter()
        .map(|root| crate::staging::remove_staging_files(root, &skip))
        .sum();
    if removed > 0 {
        tracing::info!(removed, "removed the staging files a crash left in the store");
    }
}

/// An object store on a local directory (created if needed).
fn local_store(dir: &std::path::Path) -> anyhow::Result<Arc<dyn object_store::ObjectStore>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // fsync: what a response acknowledged survives a power loss, not only a crash.
    let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
        .with_context(|| format!("opening the store at {}", dir.display()))?
        .with_fsync(true);
    Ok(Arc::new(store))
}

/// Each execution environment holds one descriptor (its `/tmp`): at most this share of the
/// open-files limit goes to them, leaving the rest to connections, the store and compiled code.
const ENVIRONMENTS_SHARE_OF_OPEN_FILES: u64 = 2;
/// Each connection holds one descriptor: at most this share of the limit goes to them.
const CONNECTIONS_SHARE_OF_OPEN_FILES: u64 = 4;

/// Raises the soft limit on open files to the hard one and returns it: every connection,
/// compiled module and environment holds descriptors, and a service default of 1,024 is reached
/// long before memory or CPU is.
fn raise_open_files_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(limit, "open files limit");
            limit
        }
        Err(e) => {
            tracing::warn!("could not raise the open files limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// `wanted`, or fewer when the descriptors it would hold (`room`) are not there; logged.
fn fit_open_files(what: &str, wanted: u32, room: u64) -> u32 {
    let fitted = u64::from(wanted).min(room.max(1)) as u32;
    if fitted < wanted {
        tracing::warn!(
            wanted,
            fitted,
            "the open files limit leaves room for only {fitted} {what}; raise the hard limit for more"
        );
    }
    fitted
}
