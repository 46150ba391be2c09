//! The states a write leaves a version in until work that needs the sandbox settles it:
//! activation (new code compiles and links: `Pending`/`InProgress` until then) and SnapStart
//! (a published version is `Pending` with reason code `Creating` while its Init runs once and
//! the snapshot is stored as code). The registry queues a [`LifecycleJob`] for each; the
//! invocation layer does the work and reports back with [`Registry::settle_code`] or
//! [`Registry::settle_snapshot`]. Start-up queues again whatever a crash left unsettled.

use tokio::sync::mpsc;

use crate::model::{FunctionConfiguration, FunctionRecord, LastUpdateStatus, State, VersionRecord};
use crate::{Registry, RegistryError};

/// Work that a registry write leaves for the invocation layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleJob {
    /// Compile and link the code stored under `wasm_sha256`, then [`Registry::settle_code`].
    Activate { function: String, wasm_sha256: String },
    /// Run Init of published `version` once and snapshot it, then [`Registry::settle_snapshot`].
    Snapshot { function: String, version: u64 },
}

/// Where the registry hands its lifecycle jobs.
pub type LifecycleJobs = mpsc::UnboundedReceiver<LifecycleJob>;

/// The state reason code of a version whose snapshot is being taken.
pub(crate) const CREATING: &str = "Creating";

/// Marks a just-published configuration as waiting for its snapshot, if SnapStart applies.
pub(crate) fn mark_for_snapshot(config: &mut FunctionConfiguration) {
    if config.snap_start.apply_on != "PublishedVersions" {
        return;
    }
    config.snap_start.optimization_status = "On".into();
    config.state = State::Pending;
    config.state_reason = Some("Lambda is creating a snapshot of the function version (SnapStart).".into());
    config.state_reason_code = Some(CREATING.into());
    config.last_update_status = LastUpdateStatus::InProgress;
}

/// Whether a configuration is waiting for its snapshot: a published SnapStart version whose
/// publication has not settled (the snapshot settles it, either way).
pub(crate) fn awaits_snapshot(config: &FunctionConfiguration) -> bool {
    config.version != "$LATEST"
        && config.snap_start.apply_on == "PublishedVersions"
        && config.last_update_status == LastUpdateStatus::InProgress
}

/// Whether a configuration waits for its code's activation: still in progress (a published
/// version copies that from $LATEST while the code compiles), and not settled by a snapshot.
pub(crate) fn awaits_activation(config: &FunctionConfiguration) -> bool {
    (config.last_update_status == LastUpdateStatus::InProgress || config.state == State::Pending)
        && !awaits_snapshot(config)
}

/// Records the outcome of an activation on one configuration.
pub(crate) fn settle(config: &mut FunctionConfiguration, verdict: &Result<(), String>) {
    match verdict {
        Ok(()) => {
            config.state = State::Active;
            config.state_reason = None;
            config.state_reason_code = None;
            config.last_update_status = LastUpdateStatus::Successful;
            config.last_update_status_reason = None;
            config.last_update_status_reason_code = None;
        }
        Err(reason) => {
            let reason = format!("The function's code is not a usable lambkin component: {reason}");
            fail(config, reason, "InvalidZipFileException");
        }
    }
}

fn fail(config: &mut FunctionConfiguration, reason: String, code: &str) {
    config.state = State::Failed;
    config.state_reason = Some(reason.clone());
    config.state_reason_code = Some(code.into());
    config.last_update_status = LastUpdateStatus::Failed;
    config.last_update_status_reason = Some(reason);
    config.last_update_status_reason_code = Some(code.into());
}

impl Registry {
    /// Hands a job to the invocation layer (dropped when nothing listens: a registry opened
    /// without one, e.g. by a tool that only reads).
    pub(crate) fn schedule(&self, job: LifecycleJob) {
        let _ = self.jobs.send(job);
    }

    /// Queues the snapshot of a just-published version, if it awaits one.
    pub(crate) fn schedule_snapshot(&self, function: &str, config: &FunctionConfiguration) {
        if let (true, Ok(version)) = (awaits_snapshot(config), config.version.parse::<u64>()) {
            self.schedule(LifecycleJob::Snapshot {
                function: function.to_string(),
                version,
            });
        }
    }

    /// Records whether the code `wasm_sha256` compiles and links: every version of `function`
    /// with that code still in progress becomes Active, or Failed with the reason. A version
    /// awaiting its snapshot is settled by the snapshot instead.
    pub async fn settle_code(&self, function: &str, wasm_sha256: &str, verdict: Result<(), String>) {
        let settled = self
            .update_record(function, |record| {
                let mut changed = false;
                let versions = std::iter::once(&mut record.latest).chain(record.versions.values_mut());
                for version in versions {
                    let config = &mut version.configuration;
                    if version.wasm_sha256 == wasm_sha256 && awaits_activation(config) {
                        settle(config, &verdict);
                        changed = true;
                    }
                }
                changed
            })
            .await;
        if let Err(e) = settled {
            tracing::error!(%function, "could not record the function's state: {e}");
        }
    }

    /// What a snapshot of `version` of `function` is taken from: the version as stored (its
    /// code, sources and configuration).
    pub async fn snapshot_source(
        &self,
        function: &str,
        version: u64,
    ) -> Result<VersionRecord, RegistryError> {
        let state = self.read();
        let stored = state
            .functions
            .get(function)
            .and_then(|r| r.versions.get(&version))
            .ok_or_else(|| RegistryError::NotFound(format!("Function not found: {function}:{version}")))?;
        Ok(stored.clone())
    }

    /// Records a snapshot's outcome: its code hash (the version turns Active and its
    /// environments restore from it), or why it failed (the version turns Failed).
    pub async fn settle_snapshot(&self, function: &str, version: u64, verdict: Result<String, String>) {
        let settled = self
            .update_record(function, |record| {
                let Some(stored) = record.versions.get_mut(&version) else {
                    return false;
                };
                match &verdict {
                    Ok(sha) => {
                        stored.snapshot_sha256 = Some(sha.clone());
                        settle(&mut stored.configuration, &Ok(()));
                    }
                    Err(reason) => {
                        tracing::warn!(%function, version, "SnapStart failed: {reason}");
                        let reason = format!("SnapStart could not snapshot this version: {reason}");
                        fail(&mut stored.configuration, reason, "FunctionError");
                    }
                }
                true
            })
            .await;
        if let Err(e) = settled {
            tracing::error!(%function, "could not record the snapshot: {e}");
        }
    }
}

/// Every job a crash left undone: code still in progress in $LATEST or in any published version
/// (one activation per code: it settles every version of that code), snapshots not taken.
pub(crate) fn unsettled_jobs<'a>(records: impl Iterator<Item = &'a FunctionRecord>) -> Vec<LifecycleJob> {
    let mut jobs = Vec::new();
    for record in records {
        let name = &record.latest.configuration.function_name;
        let mut codes = std::collections::BTreeSet::new();
        for version in std::iter::once(&record.latest).chain(record.versions.values()) {
            if awaits_activation(&version.configuration) && codes.insert(&version.wasm_sha256) {
                jobs.push(LifecycleJob::Activate {
                    function: name.clone(),
                    wasm_sha256: version.wasm_sha256.clone(),
                });
            }
        }
        for (number, version) in &record.versions {
            if awaits_snapshot(&version.configuration) {
                jobs.push(LifecycleJob::Snapshot {
                    function: name.clone(),
                    version: *number,
                });
            }
        }
    }
    jobs
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
pub(crate) mod tests;
