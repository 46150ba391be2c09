//! Lifecycle work that needs both the registry and the sandbox, done for the registry's
//! [`LifecycleJob`]s: activation (new code is compiled and linked, so State tells the truth
//! before anyone invokes) and SnapStart (with `SnapStart.ApplyOn = PublishedVersions`, a new
//! version's Init runs once and the initialised component is stored as code, which its
//! environments restore from).

use std::sync::Arc;

use lambkin_registry::model::FunctionConfiguration;
use lambkin_registry::{LifecycleJob, LifecycleJobs, Registry, RegistryError};
use lambkin_sandbox::{FunctionSpec, LogFormat, Sandbox, code_sha256};

/// Does every job the registry hands over, each in its own task, until the registry is gone.
pub fn spawn(
    registry: Arc<Registry>,
    sandbox: Sandbox,
    mut jobs: LifecycleJobs,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            let (registry, sandbox) = (registry.clone(), sandbox.clone());
            tokio::spawn(async move {
                match job {
                    LifecycleJob::Activate {
                        function,
                        wasm_sha256,
                    } => {
                        let verdict = check_code(&registry, &sandbox, &wasm_sha256).await;
                        registry.settle_code(&function, &wasm_sha256, verdict).await;
                    }
                    LifecycleJob::Snapshot { function, version } => {
                        let verdict = take_snapshot(&registry, &sandbox, &function, version).await;
                        registry.settle_snapshot(&function, version, verdict).await;
                    }
                }
            });
        }
    })
}

/// Whether the stored component compiles and links as a lambkin function.
async fn check_code(registry: &Registry, sandbox: &Sandbox, wasm_sha256: &str) -> Result<(), String> {
    let wasm = registry.code(wasm_sha256).await.map_err(|e| e.to_string())?;
    let code = sandbox.load_async(wasm).await.map_err(|e| e.to_string())?;
    sandbox
        .prepare(&code, FunctionSpec::new("check", "", ""))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs Init of the version once and stores the snapshot; returns its code hash.
async fn take_snapshot(
    registry: &Registry,
    sandbox: &Sandbox,
    function: &str,
    version: u64,
) -> Result<String, String> {
    let source = registry
        .snapshot_source(function, version)
        .await
        .map_err(|e| e.to_string())?;
    let wasm = registry
        .code(&source.wasm_sha256)
        .await
        .map_err(|e| e.to_string())?;
    let spec = function_spec(
        registry,
        &source.configuration,
        source.source_sha256.as_deref(),
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    let snapshot = bytes::Bytes::from(sandbox.snapshot(wasm, spec).await.map_err(|e| e.to_string())?);
    let sha = code_sha256(&snapshot);
    // Compiled now, into the compile cache, so that the first restore does not compile.
    sandbox
        .load_async(snapshot.clone())
        .await
        .map_err(|e| e.to_string())?;
    registry
        .put_code(&sha, snapshot.to_vec())
        .await
        .map_err(|e| e.to_string())?;
    Ok(sha)
}

/// What the sandbox needs to run a configuration: limits, variables, layers at `/opt`, and for
/// a managed runtime's function its sources at `/var/task` and the runtime's files at `/var/lang`.
pub async fn function_spec(
    registry: &Registry,
    config: &FunctionConfiguration,
    source_sha256: Option<&str>,
    hot_reload: Option<&std::path::Path>,
) -> Result<FunctionSpec, RegistryError> {
    let managed = registry.is_managed(&config.runtime);
    let layer_arns: Vec<String> = config
        .layers
        .iter()
        .filter_map(|l| l.get("Arn").and_then(|a| a.as_str()).map(str::to_string))
        .collect();
    Ok(FunctionSpec {
        name: config.function_name.clone(),
        version: config.version.clone(),
        function_arn: registry.function_arn(&config.function_name),
        handler: config.handler.clone(),
        region: registry.region().to_string(),
        memory_mb: config.memory_size,
        timeout: std::time::Duration::from_secs(u64::from(config.timeout)),
        ephemeral_storage_mb: config.ephemeral_storage.size,
        environment: config
            .environment
            .as_ref()
            .map(|e| e.variables.clone())
            .unwrap_or_default(),
        opt_dir: registry.opt_dir(&layer_arns).await?,
        task_dir: match (source_sha256, hot_reload) {
            (Some(sha), _) => Some(registry.task_dir(sha).await?),
            // Hot reload: the directory itself, read-only, as it is at each new environment.
            (None, Some(dir)) if managed => Some(dir.to_path_buf()),
            _ => None,
        },
        runtime_dir: registry.runtime_dir(&config.runtime),
        managed_runtime: managed.then(|| {
            (
                config.runtime.clone(),
                config.runtime_version_config.runtime_version_arn.clone(),
            )
        }),
        restored: false,
        // Set by the caller from the function's tag; a snapshot's Init has no network.
        egress_profile: None,
        log_group: config
            .logging_config
            .get("LogGroup")
            .and_then(|g| g.as_str())
            .filter(|g| !g.is_empty())
            .map_or_else(|| format!("/aws/lambda/{}", config.function_name), str::to_string),
        log_format: {
            let field = |name| config.logging_config.get(name).and_then(|v| v.as_str());
            LogFormat::from_config(
                field("LogFormat").unwrap_or("Text"),
                field("ApplicationLogLevel"),
                field("SystemLogLevel"),
            )
        },
    })
}
