//! CreateFunction, GetFunction(Configuration), ListFunctions, DeleteFunction, UpdateFunctionCode,
//! UpdateFunctionConfiguration.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::model::{
    EphemeralStorage, FunctionConfiguration, FunctionRecord, LastUpdateStatus, RuntimeVersionConfig,
    SnapStartResponse, State, VersionRecord,
};
use super::{Registry, new_revision, now_timestamp};
use crate::RegistryError;
use crate::function_input::invalid;
pub use crate::function_input::*;
use crate::hot_reload::HOT_RELOAD_BUCKET;
use crate::runtimes::PackageInput;

/// The state of code that was just stored and is being checked.
fn mark_in_progress(config: &mut FunctionConfiguration, creating: bool) {
    if creating {
        config.state = State::Pending;
        config.state_reason = Some("The function is being created.".into());
        config.state_reason_code = Some("Creating".into());
    }
    config.last_update_status = LastUpdateStatus::InProgress;
    config.last_update_status_reason = None;
    config.last_update_status_reason_code = None;
}
impl Registry {
    /// The package `Code` points at: inline base64, an object of the buckets store, or a
    /// hot-reloaded local path.
    async fn package_input(
        &self,
        zip_file: Option<&str>,
        s3_bucket: Option<&str>,
        s3_key: Option<&str>,
        image_uri: Option<&str>,
    ) -> Result<PackageInput, RegistryError> {
        // Which source is checked without decoding; megabytes of base64 are decoded on the
        // blocking pool.
        match package_source(zip_file.map(|_| ""), s3_bucket, s3_key, image_uri)? {
            PackageSource::Inline(_) => {
                let b64 = zip_file.unwrap_or_default().to_string();
                tokio::task::spawn_blocking(move || decode_zip_file(&b64).map(PackageInput::Bytes))
                    .await
                    .map_err(|e| RegistryError::Storage(format!("decoding the package: {e}")))?
            }
            PackageSource::Bucket { bucket, key } if bucket == HOT_RELOAD_BUCKET => {
                self.hot_reload_path(key).map(PackageInput::HotReload)
            }
            PackageSource::Bucket { bucket, key } => {
                Ok(PackageInput::Bytes(self.s3_object(bucket, key).await?.to_vec()))
            }
        }
    }

    pub async fn create_function(
        self: &Arc<Self>,
        input: CreateFunctionInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let name = input.function_name.clone();
        let Required {
            role,
            runtime,
            handler,
        } = check_create(&input)?;
        let code = &input.code;
        let source = self
            .package_input(
                code.zip_file.as_deref(),
                code.s3_bucket.as_deref(),
                code.s3_key.as_deref(),
                code.image_uri.as_deref(),
            )
            .await?;
        let mut package = self.read_package(source, &runtime, &handler).await?;
        let runtime_version_arn = self.runtime_version_arn_of(&runtime);
        let mut config = FunctionConfiguration {
            function_name: name.clone(),
            function_arn: self.function_arn(&name),
            runtime,
            role,
            handler,
            code_size: package.code_size,
            description: String::new(),
            timeout: 3,
            memory_size: 128,
            last_modified: now_timestamp(),
            code_sha256: package.code_sha256.clone(),
            version: "$LATEST".into(),
            vpc_config: None,
            dead_letter_config: None,
            environment: None,
            kms_key_arn: None,
            tracing_config: json!({ "Mode": "PassThrough" }),
            revision_id: new_revision(),
            layers: Vec::new(),
            state: State::Pending,
            state_reason: None,
            state_reason_code: None,
            last_update_status: LastUpdateStatus::InProgress,
            last_update_status_reason: None,
            last_update_status_reason_code: None,
            file_system_configs: None,
            package_type: "Zip".into(),
            architectures: architectures(input.architectures)?,
            ephemeral_storage: EphemeralStorage { size: 512 },
            snap_start: SnapStartResponse {
                apply_on: "None".into(),
                optimization_status: "Off".into(),
            },
            runtime_version_config: RuntimeVersionConfig { runtime_version_arn },
            logging_config: json!({ "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{name}") }),
        };
        super::tags::check(&input.tags, &BTreeMap::new())?;
        apply(&mut config, input.configuration, &self.read().layers)?;
        mark_in_progress(&mut config, true);
        // Taken before the function's own lock, as PutFunctionCodeSigningConfig takes them.
        let _csc_writer = match &input.code_signing_config_arn {
            Some(arn) => Some(self.code_signing_config_in_use(arn).await?),
            None => None,
        };
        let writer = self.writer(&name).await;
        let _reservation = {
            let mut state = self.write();
            if state.functions.contains_key(&name) {
                return Err(RegistryError::Conflict(format!("Function already exist: {name}")));
            }
            super::RegistryLimits::check(
                state.functions.len() + state.creating,
                self.limits.max_functions,
                "functions",
                "--max-functions",
            )?;
            state.creating += 1;
            super::CreateReservation { registry: self }
        };
        self.put_package(&mut package).await?;
        let record = FunctionRecord {
            tags: input.tags,
            code_signing_config_arn: input.code_signing_config_arn,
            ..FunctionRecord::new(VersionRecord {
                configuration: config,
                wasm_sha256: package.wasm_sha256.clone(),
                source_sha256: package.source.map(|(sha, _)| sha),
                hot_reload: package.hot_reload,
                published_from: None,
                snapshot_sha256: None,
            })
        };
        self.commit_new_code(writer, record, input.publish).await
    }

    /// The record of `name`, or ResourceNotFoundException.
    pub(super) fn record<'a>(
        &self,
        functions: &'a BTreeMap<String, FunctionRecord>,
        name: &str,
    ) -> Result<&'a FunctionRecord, RegistryError> {
        functions.get(name).ok_or_else(|| self.not_found(name))
    }

    pub(super) fn not_found(&self, name: &str) -> RegistryError {
        RegistryError::NotFound(format!("Function not found: {}", self.function_arn(name)))
    }

    /// The configuration `qualifier` names ($LATEST, a version or an alias), with the function's
    /// reserved concurrency.
    pub async fn get_function(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(FunctionConfiguration, Option<u32>, String), RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let version = self.resolve(record, name, qualifier)?;
        let mut config = version.configuration.clone();
        if let Some(q) = qualifier.filter(|q| *q != "$LATEST") {
            config.function_arn = format!("{}:{q}", self.function_arn(name));
        }
        Ok((config, record.reserved_concurrency, version.wasm_sha256.clone()))
    }

    /// ListFunctions: $LATEST of every function (and every version with `all_versions`), by name.
    pub async fn list_functions(
        &self,
        all_versions: bool,
        marker: Option<&str>,
        max_items: usize,
    ) -> (Vec<FunctionConfiguration>, Option<String>) {
        let state = self.read();
        let all: Vec<FunctionConfiguration> = state
            .functions
            .values()
            .flat_map(|record| {
                let versions = all_versions
                    .then(|| record.versions.values())
                    .into_iter()
                    .flatten();
                std::iter::once(&record.latest)
                    .chain(versions)
                    .map(|v| v.configuration.clone())
            })
            .collect();
        paginate(all, marker, max_items)
    }

    /// DeleteFunction: the whole function, or one published version with `qualifier`.
    pub async fn delete_function(&self, name: &str, qualifier: Option<&str>) -> Result<(), RegistryError> {
        let _writer = self.writer(name).await;
        let record = self.stored(name)?;
        let Some(qualifier) = qualifier.filter(|q| *q != "$LATEST") else {
            if qualifier == Some("$LATEST") {
                return Err(invalid(
                    "$LATEST version cannot be deleted without deleting the function.",
                ));
            }
            self.forget(name).await?;
            self.remove(name);
            return Ok(());
        };
        let number: u64 = qualifier.parse().map_err(|_| {
            invalid(format!(
                "Deleting an alias with DeleteFunction is not allowed; use DeleteAlias ({qualifier})"
            ))
        })?;
        if !record.versions.contains_key(&number) {
            return Err(RegistryError::NotFound(format!(
                "Function not found: {}:{qualifier}",
                self.function_arn(name)
            )));
        }
        if let Some(alias) = record.aliases.values().find(|a| {
            a.function_version == qualifier
                || a.routing_config
                    .as_ref()
                    .is_some_and(|r| r.additional_version_weights.contains_key(qualifier))
        }) {
            return Err(RegistryError::Conflict(format!(
                "Unable to delete version because the following aliases reference it: [{}]",
                alias.name
            )));
        }
        let mut record = record;
        record.versions.remove(&number);
        record.provisioned.remove(qualifier);
        self.persist(&record).await?;
        self.commit(record);
        Ok(())
    }

    pub async fn update_function_code(
        self: &Arc<Self>,
        name: &str,
        input: UpdateCodeInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let code = self
            .package_input(
                input.zip_file.as_deref(),
                input.s3_bucket.as_deref(),
                input.s3_key.as_deref(),
                input.image_uri.as_deref(),
            )
            .await?;
        // Unpacked before the function's write lock is taken (with the handler and runtime as
        // they are now; again in the rare case that a configuration update changed them
        // meanwhile).
        let code_for = |config: &FunctionConfiguration| (config.runtime.clone(), config.handler.clone());
        let (runtime, handler) = code_for(&self.stored(name)?.latest.configuration);
        let mut package = self.read_package(code.clone(), &runtime, &handler).await?;
        let writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        check_revision(
            input.revision_id.as_deref(),
            &record.latest.configuration.revision_id,
        )?;
        let (runtime_now, handler_now) = code_for(&record.latest.configuration);
        if (&runtime_now, &handler_now) != (&runtime, &handler) {
            package = self.read_package(code, &runtime_now, &handler_now).await?;
        }
        let architectures = match input.architectures {
            Some(list) => architectures(Some(list))?,
            None => record.latest.configuration.architectures.clone(),
        };
        if input.dry_run {
            let mut preview = record.latest.configuration.clone();
            preview.code_sha256 = package.code_sha256;
            preview.code_size = package.code_size;
            return Ok(preview);
        }
        self.put_package(&mut package).await?;
        let latest = &mut record.latest;
        latest.wasm_sha256 = package.wasm_sha256.clone();
        latest.source_sha256 = package.source.map(|(sha, _)| sha);
        latest.hot_reload = package.hot_reload;
        let config = &mut latest.configuration;
        config.code_sha256 = package.code_sha256;
        config.code_size = package.code_size;
        config.architectures = architectures;
        config.last_modified = now_timestamp();
        config.revision_id = new_revision();
        mark_in_progress(config, false);
        self.commit_new_code(writer, record, input.publish).await
    }

    /// After new code: publish if asked, persist, and start checking the code in the background.
    /// Answers with the published version, or $LATEST.
    async fn commit_new_code(
        self: &Arc<Self>,
        writer: tokio::sync::OwnedMutexGuard<()>,
        mut record: FunctionRecord,
        publish: bool,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let published_version = if publish {
            Some(self.publish_locked(&mut record, None).await?)
        } else {
            None
        };
        self.persist(&record).await?;
        let published = published_version.is_some();
        let response = published_version.unwrap_or_else(|| record.latest.configuration.clone());
        let name = record.latest.configuration.function_name.clone();
        let wasm_sha256 = record.latest.wasm_sha256.clone();
        self.commit(record);
        drop(writer);
        if published {
            self.schedule_snapshot(&name, &response);
        }
        self.schedule(crate::LifecycleJob::Activate {
            function: name,
            wasm_sha256,
        });
        Ok(response)
    }

    /// UpdateFunctionConfiguration; done again when another node's write to the function won
    /// the race (its RevisionId, if given, is then checked against the winner's).
    pub async fn update_function_configuration(
        &self,
        name: &str,
        input: ConfigurationInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        self.retrying(|| self.update_function_configuration_once(name, input.clone()))
            .await
    }

    async fn update_function_configuration_once(
        &self,
        name: &str,
        input: ConfigurationInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let config = &mut record.latest.configuration;
        check_revision(input.revision_id.as_deref(), &config.revision_id)?;
        if config.last_update_status == LastUpdateStatus::InProgress {
            return Err(RegistryError::Conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                config.function_arn
            )));
        }
        let runtime_before = config.runtime.clone();
        apply(config, input, &self.read().layers)?;
        if config.runtime != runtime_before {
            self.check_runtime_change(&runtime_before, &config.runtime)?;
            config.runtime_version_config.runtime_version_arn = self.runtime_version_arn_of(&config.runtime);
        }
        config.last_modified = now_timestamp();
        config.revision_id = new_revision();
        self.persist(&record).await?;
        let response = record.latest.configuration.clone();
        self.commit(record);
        Ok(response)
    }
}

/// RevisionId preconditions (PreconditionFailedException when stale).
pub fn check_revision(given: Option<&str>, current: &str) -> Result<(), RegistryError> {
    match given {
        Some(given) if given != current => Err(RegistryError::PreconditionFailed(
            "The RevisionId provided does not match the latest RevisionId for the Lambda function or alias. Call the GetFunction or the GetAlias API operation to retrieve the latest RevisionId for your resource.".into(),
        )),
        _ => Ok(()),
    }
}

/// One page of `items`; the marker is the index of the next item.
pub(super) fn paginate<T>(items: Vec<T>, marker: Option<&str>, max_items: usize) -> (Vec<T>, Option<String>) {
    let start = marker.and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max_items).collect();
    let next = start + page.len();
    (page, (next < total).then(|| next.to_string()))
}
