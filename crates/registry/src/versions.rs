//! PublishVersion, ListVersionsByFunction, and what invoking a qualifier runs (seed 004).

use serde::Deserialize;
use std::sync::Arc;

use super::functions::{check_revision, paginate};
use super::model::{FunctionConfiguration, FunctionRecord, LastUpdateStatus, State, VersionRecord};
use super::{Registry, new_revision, now_timestamp, validate};
use crate::RegistryError;
use crate::tags::EGRESS_TAG;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishInput {
    pub code_sha256: Option<String>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(message.into())
}

/// The configuration with everything that changes without being a change (identity, revision,
/// timestamps, state) blanked: two versions are "the same" when these are equal.
fn substance(config: &FunctionConfiguration) -> FunctionConfiguration {
    let mut c = config.clone();
    c.version = String::new();
    c.function_arn = String::new();
    c.revision_id = String::new();
    c.last_modified = String::new();
    c.state = State::Pending;
    c.state_reason = None;
    c.state_reason_code = None;
    c.last_update_status = LastUpdateStatus::InProgress;
    c.last_update_status_reason = None;
    c.last_update_status_reason_code = None;
    c
}

/// PublishVersion's preconditions on the $LATEST it would publish: its CodeSha256 and RevisionId
/// when given, and a valid Description.
pub fn check_publish(input: &PublishInput, latest: &FunctionConfiguration) -> Result<(), RegistryError> {
    if let Some(sha) = &input.code_sha256
        && *sha != latest.code_sha256
    {
        return Err(invalid(format!(
            "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
            latest.code_sha256
        )));
    }
    check_revision(input.revision_id.as_deref(), &latest.revision_id)?;
    if let Some(description) = &input.description {
        validate::description(description)?;
    }
    Ok(())
}

/// Identifies $LATEST's code and configuration, whatever its revision, timestamps or state.
fn fingerprint(latest: &VersionRecord) -> String {
    use sha2::Digest;
    let text = serde_json::to_string(&substance(&latest.configuration)).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(format!("{}\n{text}", latest.wasm_sha256)))
}

/// What an invocation runs: the version's configuration and code, and the ARN the caller used.
#[derive(Debug, Clone)]
pub struct InvocationTarget {
    pub configuration: FunctionConfiguration,
    pub wasm_sha256: String,
    /// A managed runtime's function: its sources (mounted at `/var/task`).
    pub source_sha256: Option<String>,
    /// Hot reload: the local directory or `.wasm` file that is the code, as it is now.
    pub hot_reload: Option<std::path::PathBuf>,
    pub invoked_function_arn: String,
    /// SnapStart: the snapshot to restore environments from, instead of running Init.
    pub snapshot_sha256: Option<String>,
    /// The function's reserved concurrency: its cap on environments busy at once.
    pub reserved_concurrency: Option<u32>,
    /// Without a reservation, the size of the pool it shares: the account's concurrency minus
    /// every function's reservation.
    pub unreserved_capacity: u32,
    /// The egress profile the function's `lambkin:egress` tag names.
    pub egress_profile: Option<String>,
}

/// Every version an invocation of one qualifier may run: the version it names and, for a
/// weighted alias, the additional version with its weight. Each leg fails on its own (only an
/// Active version can run), so a broken additional version fails only the calls routed to it.
#[derive(Debug)]
pub struct InvocationRoute {
    /// The registry's generation the route was read at.
    pub generation: u64,
    pub primary: Result<InvocationTarget, RegistryError>,
    pub additional: Option<(f64, Result<InvocationTarget, RegistryError>)>,
}

impl InvocationRoute {
    /// The leg a `roll` (uniform in [0, 1)) picks: the additional version under its weight.
    pub fn pick(self, roll: f64) -> Result<InvocationTarget, RegistryError> {
        match self.additional {
            Some((weight, additional)) if roll < weight => additional,
            _ => self.primary,
        }
    }
}

impl Registry {
    /// Resolves `qualifier` for an invocation, with a weighted alias's `roll` already made.
    pub async fn invocation_target(
        &self,
        name: &str,
        qualifier: Option<&str>,
        roll: f64,
    ) -> Result<InvocationTarget, RegistryError> {
        self.invocation_route(name, qualifier).await?.pick(roll)
    }

    /// Resolves every version `qualifier` may run.
    pub async fn invocation_route(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<InvocationRoute, RegistryError> {
        let state = self.read();
        let generation = self.generation();
        let record = self.record(&state.functions, name)?;
        let reserved = super::settings::reserved_by_others(&state.functions, None);
        let unreserved = self.account_concurrency.saturating_sub(reserved);
        let additional = qualifier
            .and_then(|q| record.aliases.get(q))
            .and_then(|alias| alias.routing_config.as_ref())
            .and_then(|routing| routing.additional_version_weights.iter().next())
            .map(|(version, weight)| {
                let leg = self.runnable(record, name, Some(version), qualifier, unreserved);
                (*weight, leg)
            });
        Ok(InvocationRoute {
            generation,
            primary: self.runnable(record, name, qualifier, qualifier, unreserved),
            additional,
        })
    }

    /// The version `version` designates, if it can run; `invoked` is what the caller named.
    fn runnable(
        &self,
        record: &FunctionRecord,
        name: &str,
        version: Option<&str>,
        invoked: Option<&str>,
        unreserved_capacity: u32,
    ) -> Result<InvocationTarget, RegistryError> {
        let version = self.resolve(record, name, version)?;
        let config = &version.configuration;
        match config.state {
            State::Active => {}
            State::Failed => {
                return Err(RegistryError::InvalidPackage(
                    config
                        .state_reason
                        .clone()
                        .unwrap_or_else(|| "The function's code is not usable".into()),
                ));
            }
            other => {
                return Err(RegistryError::Conflict(format!(
                    "The operation cannot be performed at this time. The function is currently in the following state: {other}"
                )));
            }
        }
        let invoked_function_arn = match invoked {
            Some(q) => format!("{}:{q}", self.function_arn(name)),
            None => self.function_arn(name),
        };
        Ok(InvocationTarget {
            configuration: config.clone(),
            wasm_sha256: version.wasm_sha256.clone(),
            source_sha256: version.source_sha256.clone(),
            hot_reload: version.hot_reload.clone(),
            snapshot_sha256: version.snapshot_sha256.clone(),
            invoked_function_arn,
            reserved_concurrency: record.reserved_concurrency,
            unreserved_capacity,
            egress_profile: record.tags.get(EGRESS_TAG).cloned(),
        })
    }

    /// The version `qualifier` designates: `$LATEST` (or none), a number, or an alias.
    pub(super) fn resolve<'a>(
        &self,
        record: &'a FunctionRecord,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<&'a VersionRecord, RegistryError> {
        let missing = || {
            RegistryError::NotFound(format!(
                "Function not found: {}:{}",
                self.function_arn(name),
                qualifier.unwrap_or("")
            ))
        };
        match qualifier {
            None | Some("$LATEST") => Ok(&record.latest),
            Some(q) if q.chars().all(|c| c.is_ascii_digit()) => {
                let number: u64 = q.parse().map_err(|_| missing())?;
                record.versions.get(&number).ok_or_else(missing)
            }
            Some(alias) => {
                let alias = record.aliases.get(alias).ok_or_else(missing)?;
                self.resolve(record, name, Some(&alias.function_version))
            }
        }
    }

    /// PublishVersion; done again when another node's write to the function won the race.
    pub async fn publish_version(
        self: &Arc<Self>,
        name: &str,
        input: PublishInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        self.retrying(|| self.publish_version_once(name, input.clone()))
            .await
    }

    async fn publish_version_once(
        self: &Arc<Self>,
        name: &str,
        input: PublishInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let _writer = self.writer(name).await;
        // Another node may have published since this one last looked: start from the store's.
        self.read_again(name).await?;
        let mut record = self.stored(name)?;
        let published = self.publish_locked(&mut record, Some(input)).await?;
        self.persist(&record).await?;
        self.commit(record);
        self.schedule_snapshot(name, &published);
        Ok(published)
    }

    /// Publishes $LATEST of `record` (the caller holds the function's write lock and persists
    /// `record`). A no-op returning the last version when neither code nor configuration
    /// changed since it was published.
    pub(super) async fn publish_locked(
        &self,
        record: &mut FunctionRecord,
        input: Option<PublishInput>,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let input = input.unwrap_or_default();
        let latest = &record.latest.configuration;
        let name = latest.function_name.clone();
        check_publish(&input, latest)?;
        let source = fingerprint(&record.latest);
        if let Some((_, last)) = record.versions.last_key_value()
            && last.published_from.as_deref() == Some(source.as_str())
        {
            return Ok(last.configuration.clone());
        }
        super::RegistryLimits::check(
            record.versions.len(),
            self.limits.max_versions,
            &format!("versions of {name}"),
            "--max-versions",
        )?;
        let number = self
            .last_version_number(&name)
            .await?
            .max(record.versions.keys().last().copied().unwrap_or(0))
            + 1;
        let mut version = record.latest.clone();
        version.published_from = Some(source);
        let config = &mut version.configuration;
        config.version = number.to_string();
        config.function_arn = format!("{}:{number}", self.function_arn(&name));
        config.revision_id = new_revision();
        config.last_modified = now_timestamp();
        if let Some(description) = input.description {
            config.description = description;
        }
        version.snapshot_sha256 = None;
        // Code that changes under it cannot be snapshotted: hot reload has no SnapStart.
        if version.hot_reload.is_none() {
            crate::lifecycle::mark_for_snapshot(&mut version.configuration);
        }
        self.persist_counter(&name, number).await?;
        self.write().counters.insert(name, number);
        let published = version.configuration.clone();
        record.versions.insert(number, version);
        Ok(published)
    }

    /// ListVersionsByFunction: $LATEST, then the versions in ascending order.
    pub async fn list_versions(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<FunctionConfiguration>, Option<String>), RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let all = std::iter::once(&record.latest)
            .chain(record.versions.values())
            .map(|v| v.configuration.clone())
            .collect();
        Ok(paginate(all, marker, max_items))
    }
}
