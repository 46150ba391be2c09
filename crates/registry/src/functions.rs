//! CreateFunction, GetFunction(Configuration), ListFunctions, DeleteFunction, UpdateFunctionCode,
//! UpdateFunctionConfiguration.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::layers::Layers;
use super::model::{
    EnvironmentResponse, EphemeralStorage, FunctionConfiguration, FunctionRecord, RuntimeManagement,
    RuntimeVersionConfig, SnapStartResponse, VersionRecord,
};
use super::{Registry, new_revision, now_timestamp, package, validate};
use crate::RegistryError;
use crate::environment::validate_environment;

/// The configuration fields CreateFunction and UpdateFunctionConfiguration share.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationInput {
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<u32>,
    pub memory_size: Option<u32>,
    pub runtime: Option<String>,
    pub environment: Option<EnvironmentInput>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub snap_start: Option<SnapStartInput>,
    pub logging_config: Option<Value>,
    pub layers: Option<Vec<String>>,
    // Accepted, stored and echoed so existing tooling works; lambkin has no use for them.
    pub vpc_config: Option<Value>,
    pub dead_letter_config: Option<Value>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Option<Value>,
    pub file_system_configs: Option<Value>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct EnvironmentInput {
    #[serde(rename = "Variables", default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct SnapStartInput {
    #[serde(rename = "ApplyOn")]
    pub apply_on: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeInput {
    /// Base64 of the package (raw component or zip).
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub image_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionInput {
    pub function_name: String,
    #[serde(flatten)]
    pub configuration: ConfigurationInput,
    pub code: CodeInput,
    #[serde(default)]
    pub publish: bool,
    pub package_type: Option<String>,
    pub architectures: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCodeInput {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub image_uri: Option<String>,
    #[serde(default)]
    pub publish: bool,
    #[serde(default)]
    pub dry_run: bool,
    pub revision_id: Option<String>,
    pub architectures: Option<Vec<String>>,
}

/// A package as stored: the component, its hash, and what AWS reports about the upload.
pub struct Package {
    wasm: Vec<u8>,
    wasm_sha256: String,
    code_sha256: String,
    code_size: u64,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(message.into())
}

/// Unpacks a package; the component is found by `handler` inside a zip.
pub fn read_package(bytes: Vec<u8>, handler: &str) -> Result<Package, RegistryError> {
    let wasm = package::extract_wasm(&bytes, handler)?;
    Ok(Package {
        wasm_sha256: hex::encode(Sha256::digest(&wasm)),
        code_sha256: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes)),
        code_size: bytes.len() as u64,
        wasm,
    })
}

/// [`read_package`] on the blocking pool: unzipping and hashing megabytes is no work for a
/// runtime thread.
async fn read_package_off_thread(bytes: Vec<u8>, handler: &str) -> Result<Package, RegistryError> {
    let handler = handler.to_string();
    tokio::task::spawn_blocking(move || read_package(bytes, &handler))
        .await
        .map_err(|e| RegistryError::Storage(format!("reading the package: {e}")))?
}

/// Validates `input` and applies it to `config`; fields absent from `input` are left as they are.
pub fn apply(
    config: &mut FunctionConfiguration,
    input: ConfigurationInput,
    layers: &Layers,
) -> Result<(), RegistryError> {
    if let Some(role) = input.role {
        validate::role(&role)?;
        config.role = role;
    }
    if let Some(handler) = input.handler {
        validate::handler(&handler)?;
        config.handler = handler;
    }
    if let Some(description) = input.description {
        validate::description(&description)?;
        config.description = description;
    }
    if let Some(timeout) = input.timeout {
        validate::in_range("timeout", timeout, validate::TIMEOUT_S)?;
        config.timeout = timeout;
    }
    if let Some(memory) = input.memory_size {
        validate::in_range("memorySize", memory, validate::MEMORY_MB)?;
        config.memory_size = memory;
    }
    if let Some(runtime) = input.runtime {
        validate::runtime(&runtime)?;
        config.runtime = runtime;
    }
    if let Some(environment) = input.environment {
        validate_environment(&environment.variables).map_err(invalid)?;
        config.environment = Some(EnvironmentResponse {
            variables: environment.variables,
        });
    }
    if let Some(storage) = input.ephemeral_storage {
        validate::in_range("ephemeralStorage.size", storage.size, validate::EPHEMERAL_MB)?;
        config.ephemeral_storage = storage;
    }
    if let Some(snap_start) = input.snap_start {
        validate::snap_start_apply_on(&snap_start.apply_on)?;
        config.snap_start.apply_on = snap_start.apply_on;
    }
    if let Some(logging) = input.logging_config {
        let format = logging.get("LogFormat").and_then(Value::as_str).unwrap_or("Text");
        if !["Text", "JSON"].contains(&format) {
            return Err(invalid(format!("LogFormat {format} is not one of Text, JSON")));
        }
        let mut merged = config.logging_config.clone();
        if let (Some(target), Some(source)) = (merged.as_object_mut(), logging.as_object()) {
            target.extend(source.clone());
        }
        config.logging_config = merged;
    }
    if let Some(arns) = input.layers {
        config.layers = Registry::layer_references(layers, &arns)?;
    }
    if let Some(tracing) = input.tracing_config {
        let mode = tracing
            .get("Mode")
            .and_then(Value::as_str)
            .unwrap_or("PassThrough");
        if !["Active", "PassThrough"].contains(&mode) {
            return Err(invalid(format!(
                "TracingConfig.Mode {mode} is not one of Active, PassThrough"
            )));
        }
        config.tracing_config = json!({ "Mode": mode });
    }
    if let Some(vpc) = input.vpc_config {
        config.vpc_config = Some(vpc_response(vpc));
    }
    if let Some(dlq) = input.dead_letter_config {
        config.dead_letter_config = Some(dlq);
    }
    if let Some(kms) = input.kms_key_arn {
        config.kms_key_arn = Some(kms).filter(|k| !k.is_empty());
    }
    if let Some(fs) = input.file_system_configs {
        config.file_system_configs = Some(fs);
    }
    Ok(())
}

/// VpcConfigResponse adds the VpcId (empty: lambkin attaches to no VPC).
fn vpc_response(mut vpc: Value) -> Value {
    if let Some(object) = vpc.as_object_mut() {
        object.entry("VpcId").or_insert_with(|| json!(""));
    }
    vpc
}

pub fn architectures(requested: Option<Vec<String>>) -> Result<Vec<String>, RegistryError> {
    let list = requested.unwrap_or_else(|| vec!["x86_64".to_string()]);
    if list.len() != 1 || !["x86_64", "arm64"].contains(&list[0].as_str()) {
        return Err(invalid("Architectures must be exactly one of x86_64, arm64"));
    }
    Ok(list)
}

/// Where a package's bytes come from: `ZipFile` (decoded here) or an object of the buckets store.
pub enum PackageSource<'a> {
    Inline(Vec<u8>),
    Bucket { bucket: &'a str, key: &'a str },
}

/// Checks `Code` (or UpdateFunctionCode's fields): exactly what names the package, and decodes
/// an inline `ZipFile`.
pub fn package_source<'a>(
    zip_file: Option<&str>,
    s3_bucket: Option<&'a str>,
    s3_key: Option<&'a str>,
    image_uri: Option<&str>,
) -> Result<PackageSource<'a>, RegistryError> {
    if image_uri.is_some() {
        return Err(invalid(
            "lambkin runs Zip packages only: ImageUri is not supported",
        ));
    }
    match (zip_file, s3_bucket, s3_key) {
        (Some(b64), _, _) => decode_zip_file(b64).map(PackageSource::Inline),
        (None, Some(bucket), Some(key)) => Ok(PackageSource::Bucket { bucket, key }),
        _ => Err(invalid(
            "Please provide a source for function code (Code.ZipFile or Code.S3Bucket and S3Key).",
        )),
    }
}

/// The bytes of a base64 `ZipFile` (of a function or a layer).
pub fn decode_zip_file(b64: &str) -> Result<Vec<u8>, RegistryError> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| invalid(format!("ZipFile is not valid base64: {e}")))
}

/// What CreateFunction requires of its input before it reads any code.
pub struct Required {
    pub role: String,
    pub runtime: String,
    pub handler: String,
}

/// CreateFunction's checks that need neither code nor state: the name, a Zip package, and a
/// valid Role, Runtime and Handler (`function.wasm` by default).
pub fn check_create(input: &CreateFunctionInput) -> Result<Required, RegistryError> {
    validate::function_name(&input.function_name)?;
    if input.package_type.as_deref().is_some_and(|p| p != "Zip") {
        return Err(invalid("lambkin runs Zip packages only (PackageType Zip)"));
    }
    let role = input
        .configuration
        .role
        .clone()
        .ok_or_else(|| invalid("Role is required"))?;
    validate::role(&role)?;
    let runtime =
        input.configuration.runtime.clone().ok_or_else(|| {
            invalid("Runtime is required for a .zip deployment package (use provided.al2023)")
        })?;
    validate::runtime(&runtime)?;
    let handler = input
        .configuration
        .handler
        .clone()
        .unwrap_or_else(|| "function.wasm".into());
    validate::handler(&handler)?;
    Ok(Required {
        role,
        runtime,
        handler,
    })
}

/// The state of code that was just stored and is being checked.
fn mark_in_progress(config: &mut FunctionConfiguration, creating: bool) {
    if creating {
        config.state = "Pending".into();
        config.state_reason = Some("The function is being created.".into());
        config.state_reason_code = Some("Creating".into());
    }
    config.last_update_status = "InProgress".into();
    config.last_update_status_reason = None;
    config.last_update_status_reason_code = None;
}

impl Registry {
    /// The package bytes `Code` points at: inline base64, or an object of the buckets store.
    async fn package_bytes(
        &self,
        zip_file: Option<&str>,
        s3_bucket: Option<&str>,
        s3_key: Option<&str>,
        image_uri: Option<&str>,
    ) -> Result<Vec<u8>, RegistryError> {
        // Which source is checked without decoding; megabytes of base64 are decoded on the
        // blocking pool.
        match package_source(zip_file.map(|_| ""), s3_bucket, s3_key, image_uri)? {
            PackageSource::Inline(_) => {
                let b64 = zip_file.unwrap_or_default().to_string();
                tokio::task::spawn_blocking(move || decode_zip_file(&b64))
                    .await
                    .map_err(|e| RegistryError::Storage(format!("decoding the package: {e}")))?
            }
            PackageSource::Bucket { bucket, key } => Ok(self.s3_object(bucket, key).await?.to_vec()),
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
        let bytes = self
            .package_bytes(
                code.zip_file.as_deref(),
                code.s3_bucket.as_deref(),
                code.s3_key.as_deref(),
                code.image_uri.as_deref(),
            )
            .await?;
        let package = read_package_off_thread(bytes, &handler).await?;
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
            state: String::new(),
            state_reason: None,
            state_reason_code: None,
            last_update_status: String::new(),
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
            runtime_version_config: RuntimeVersionConfig {
                runtime_version_arn: self.runtime_version_arn(),
            },
            logging_config: json!({ "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{name}") }),
        };
        apply(&mut config, input.configuration, &self.read().layers)?;
        mark_in_progress(&mut config, true);
        let writer = self.writer(&name).await;
        {
            // Functions being created at the same moment under other names may each pass the
            // cap: it bounds the store, not an exact count, and holds no global lock.
            let state = self.read();
            if state.functions.contains_key(&name) {
                return Err(RegistryError::Conflict(format!("Function already exist: {name}")));
            }
            super::RegistryLimits::check(
                state.functions.len(),
                self.limits.max_functions,
                "functions",
                "--max-functions",
            )?;
        }
        self.put_code(&package.wasm_sha256, package.wasm).await?;
        let record = FunctionRecord {
            latest: VersionRecord {
                configuration: config,
                wasm_sha256: package.wasm_sha256.clone(),
                published_from: None,
                snapshot_sha256: None,
            },
            versions: BTreeMap::new(),
            aliases: BTreeMap::new(),
            reserved_concurrency: None,
            runtime_management: RuntimeManagement::default(),
            event_invoke_configs: BTreeMap::new(),
            url_configs: BTreeMap::new(),
            provisioned: BTreeMap::new(),
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
        let bytes = self
            .package_bytes(
                input.zip_file.as_deref(),
                input.s3_bucket.as_deref(),
                input.s3_key.as_deref(),
                input.image_uri.as_deref(),
            )
            .await?;
        // Unpacked before the function's write lock is taken (with the handler as it is now;
        // again in the rare case that a configuration update changed it meanwhile).
        let handler = self.stored(name)?.latest.configuration.handler;
        let mut package = read_package_off_thread(bytes.clone(), &handler).await?;
        let writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        check_revision(
            input.revision_id.as_deref(),
            &record.latest.configuration.revision_id,
        )?;
        if record.latest.configuration.handler != handler {
            package = read_package_off_thread(bytes, &record.latest.configuration.handler).await?;
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
        self.put_code(&package.wasm_sha256, package.wasm).await?;
        let latest = &mut record.latest;
        latest.wasm_sha256 = package.wasm_sha256.clone();
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

    pub async fn update_function_configuration(
        &self,
        name: &str,
        input: ConfigurationInput,
    ) -> Result<FunctionConfiguration, RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let config = &mut record.latest.configuration;
        check_revision(input.revision_id.as_deref(), &config.revision_id)?;
        if config.last_update_status == "InProgress" {
            return Err(RegistryError::Conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                config.function_arn
            )));
        }
        apply(config, input, &self.read().layers)?;
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
