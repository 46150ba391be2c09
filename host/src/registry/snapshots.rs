//! SnapStart for published versions (SPEC §4): with `SnapStart.ApplyOn = PublishedVersions`, a
//! new version is `Pending` (reason code `Creating`) while its Init runs once and the snapshot is
//! stored as code (`code/<sha256>.wasm`); then it is `Active` with `OptimizationStatus: On`, and
//! its environments restore from the snapshot. If Init fails the version is `Failed`, and says why.

use std::sync::Arc;

use super::Registry;
use super::model::FunctionConfiguration;
use crate::api::ApiError;
use crate::sandbox::{FunctionSpec, code_sha256};

/// The state reason code of a version whose snapshot is being taken.
pub(super) const CREATING: &str = "Creating";

/// Marks a just-published configuration as waiting for its snapshot, if SnapStart applies.
pub(super) fn mark_for_snapshot(config: &mut FunctionConfiguration) {
    if config.snap_start.apply_on != "PublishedVersions" {
        return;
    }
    config.snap_start.optimization_status = "On".into();
    config.state = "Pending".into();
    config.state_reason = Some("Lambda is creating a snapshot of the function version (SnapStart).".into());
    config.state_reason_code = Some(CREATING.into());
    config.last_update_status = "InProgress".into();
}

/// Whether a configuration is waiting for its snapshot: a published SnapStart version whose
/// publication has not settled (the snapshot settles it, either way).
pub(super) fn awaits_snapshot(config: &FunctionConfiguration) -> bool {
    config.version != "$LATEST"
        && config.snap_start.apply_on == "PublishedVersions"
        && config.last_update_status == "InProgress"
}

impl Registry {
    /// What the sandbox needs to run a configuration: limits, variables, layers at `/opt`.
    pub async fn function_spec(&self, config: &FunctionConfiguration) -> Result<FunctionSpec, ApiError> {
        let layer_arns: Vec<String> = config
            .layers
            .iter()
            .filter_map(|l| l.get("Arn").and_then(|a| a.as_str()).map(str::to_string))
            .collect();
        Ok(FunctionSpec {
            name: config.function_name.clone(),
            version: config.version.clone(),
            function_arn: self.function_arn(&config.function_name),
            handler: config.handler.clone(),
            region: self.region().to_string(),
            memory_mb: config.memory_size,
            timeout: std::time::Duration::from_secs(u64::from(config.timeout)),
            ephemeral_storage_mb: config.ephemeral_storage.size,
            environment: config
                .environment
                .as_ref()
                .map(|e| e.variables.clone())
                .unwrap_or_default(),
            opt_dir: self.opt_dir(&layer_arns).await?,
            restored: false,
        })
    }

    /// Snapshots `version` of `name` in the background, if it awaits one.
    pub(super) fn spawn_snapshot(self: &Arc<Self>, name: String, config: &FunctionConfiguration) {
        if !awaits_snapshot(config) {
            return;
        }
        let Ok(number) = config.version.parse::<u64>() else {
            return;
        };
        let registry = self.clone();
        tokio::spawn(async move {
            let verdict = registry.take_snapshot(&name, number).await;
            let mut state = registry.state.lock().await;
            let Some(record) = state.functions.get_mut(&name) else {
                return;
            };
            let Some(version) = record.versions.get_mut(&number) else {
                return;
            };
            let config = &mut version.configuration;
            match verdict {
                Ok(sha) => {
                    version.snapshot_sha256 = Some(sha);
                    super::settle(config, &Ok(()));
                }
                Err(reason) => {
                    tracing::warn!(function = %name, version = number, "SnapStart failed: {reason}");
                    let reason = format!("SnapStart could not snapshot this version: {reason}");
                    config.state = "Failed".into();
                    config.state_reason = Some(reason.clone());
                    config.state_reason_code = Some("FunctionError".into());
                    config.last_update_status = "Failed".into();
                    config.last_update_status_reason = Some(reason);
                    config.last_update_status_reason_code = Some("FunctionError".into());
                }
            }
            let record = record.clone();
            if let Err(e) = registry.persist(&record).await {
                tracing::error!(function = %name, "could not record the snapshot: {e}");
            }
        });
    }

    /// Runs Init of the version once and stores the snapshot; returns its code hash.
    async fn take_snapshot(&self, name: &str, number: u64) -> Result<String, String> {
        let (wasm_sha256, config) = {
            let state = self.state.lock().await;
            let version = state
                .functions
                .get(name)
                .and_then(|r| r.versions.get(&number))
                .ok_or("the version is gone")?;
            (version.wasm_sha256.clone(), version.configuration.clone())
        };
        let wasm = self.code(&wasm_sha256).await.map_err(|e| e.to_string())?;
        let spec = self.function_spec(&config).await.map_err(|e| e.to_string())?;
        let snapshot = self
            .sandbox
            .snapshot(&wasm, spec)
            .await
            .map_err(|e| e.to_string())?;
        let sha = code_sha256(&snapshot);
        // Compiled now, into the compile cache, so that the first restore does not compile.
        let sandbox = self.sandbox.clone();
        let snapshot = tokio::task::spawn_blocking(move || sandbox.load(&snapshot).map(|_| snapshot))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.put_code(&sha, snapshot).await.map_err(|e| e.to_string())?;
        Ok(sha)
    }
}
