//! What CreateFunction, UpdateFunctionCode and UpdateFunctionConfiguration accept, and the
//! checks that need no stored state: pure functions that the registry's methods and the fuzz
//! targets both call.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::environment::validate_environment;
use crate::layers::Layers;
use crate::model::{EnvironmentResponse, EphemeralStorage, FunctionConfiguration};
use crate::{Registry, RegistryError, package, validate};

/// The configuration fields CreateFunction and UpdateFunctionConfiguration share.
#[derive(Debug, Default, Clone, Deserialize)]
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

#[derive(Debug, Default, Clone, Deserialize)]
pub struct EnvironmentInput {
    #[serde(rename = "Variables", default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
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
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub code_signing_config_arn: Option<String>,
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
    pub(crate) wasm: Vec<u8>,
    pub(crate) wasm_sha256: String,
    pub(crate) code_sha256: String,
    pub(crate) code_size: u64,
}

pub(crate) fn invalid(message: impl Into<String>) -> RegistryError {
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
        config.logging_config = logging_config(&config.logging_config, &logging)?;
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

/// ApplicationLogLevel's values, and SystemLogLevel's.
const APPLICATION_LOG_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const SYSTEM_LOG_LEVELS: [&str; 3] = ["DEBUG", "INFO", "WARN"];

/// LoggingConfig after an update: `update`'s fields over `current`'s. Levels need the JSON
/// format: set with Text they are refused; a JSON config gets Lambda's default (INFO) for a
/// level it lacks, and a switch to Text drops them.
fn logging_config(current: &Value, update: &Value) -> Result<Value, RegistryError> {
    let mut merged = current.clone();
    if let (Some(target), Some(source)) = (merged.as_object_mut(), update.as_object()) {
        target.extend(source.clone());
    }
    let text = |field: &str| merged.get(field).and_then(Value::as_str).map(str::to_string);
    let format = text("LogFormat").unwrap_or_else(|| "Text".to_string());
    if !["Text", "JSON"].contains(&format.as_str()) {
        return Err(invalid(format!("LogFormat {format} is not one of Text, JSON")));
    }
    for (field, allowed) in [
        ("ApplicationLogLevel", &APPLICATION_LOG_LEVELS[..]),
        ("SystemLogLevel", &SYSTEM_LOG_LEVELS[..]),
    ] {
        let Some(value) = merged.get(field) else {
            continue;
        };
        match value.as_str() {
            Some(level) if allowed.contains(&level) => {}
            _ => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{}' at 'loggingConfig.{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    value.as_str().unwrap_or_default(),
                    lower_first(field),
                    allowed.join(", ")
                )));
            }
        }
        if format != "JSON" && update.get(field).is_some() {
            return Err(invalid(format!(
                "LoggingConfig.{field} can be set only when LogFormat is JSON (it is {format})"
            )));
        }
    }
    if let Some(fields) = merged.as_object_mut() {
        for field in ["ApplicationLogLevel", "SystemLogLevel"] {
            if format == "JSON" {
                fields.entry(field).or_insert_with(|| Value::from("INFO"));
            } else {
                fields.remove(field);
            }
        }
    }
    Ok(merged)
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod logging_tests {
    use super::logging_config;
    use serde_json::json;

    #[test]
    fn json_gets_default_levels_and_text_drops_them() {
        let text = json!({ "LogFormat": "Text", "LogGroup": "/aws/lambda/f" });
        let json = logging_config(&text, &json!({ "LogFormat": "JSON" })).expect("valid");
        assert_eq!(
            json,
            json!({ "LogFormat": "JSON", "LogGroup": "/aws/lambda/f", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO" })
        );
        let back = logging_config(&json, &json!({ "LogFormat": "Text" })).expect("valid");
        assert_eq!(back, text);
    }

    #[test]
    fn levels_need_json_and_lambdas_values() {
        let text = json!({ "LogFormat": "Text" });
        assert!(logging_config(&text, &json!({ "ApplicationLogLevel": "DEBUG" })).is_err());
        let json = json!({ "LogFormat": "JSON" });
        assert!(logging_config(&json, &json!({ "SystemLogLevel": "ERROR" })).is_err());
        assert!(logging_config(&json, &json!({ "ApplicationLogLevel": "LOUD" })).is_err());
        assert!(logging_config(&json, &json!({ "LogFormat": "XML" })).is_err());
        let debug = logging_config(
            &json,
            &json!({ "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN" }),
        )
        .expect("valid");
        assert_eq!(debug["ApplicationLogLevel"], "DEBUG");
        assert_eq!(debug["SystemLogLevel"], "WARN");
    }
}
