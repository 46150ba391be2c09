//! The documents the registry keeps, shaped as the AWS service model returns them, so that a
//! stored configuration is the API's response as it is.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// An enum of the service model, stored and sent as its wire name.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the model's order.
            pub const ALL: &'static [&'static str] = &[$($wire),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// The value of this wire name, if it is one.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// `State` of a function version: whether it can be invoked.
    State { Pending = "Pending", Active = "Active", Inactive = "Inactive", Failed = "Failed" }
}

wire_enum! {
    /// `LastUpdateStatus`: how the last change of code or configuration went.
    LastUpdateStatus { Successful = "Successful", Failed = "Failed", InProgress = "InProgress" }
}

wire_enum! {
    /// A function URL's `AuthType`.
    AuthType { None = "NONE", AwsIam = "AWS_IAM" }
}

wire_enum! {
    /// A function URL's `InvokeMode`.
    InvokeMode { Buffered = "BUFFERED", ResponseStream = "RESPONSE_STREAM" }
}

wire_enum! {
    /// Invoke's `X-Amz-Invocation-Type`.
    InvocationType { Event = "Event", RequestResponse = "RequestResponse", DryRun = "DryRun" }
}

/// `FunctionConfiguration` of the service model (seed 000), for `$LATEST` or a published version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    pub function_name: String,
    pub function_arn: String,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    pub code_size: u64,
    pub description: String,
    pub timeout: u32,
    pub memory_size: u32,
    pub last_modified: String,
    /// Base64 SHA-256 of the deployment package, as AWS reports it.
    pub code_sha256: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentResponse>,
    #[serde(rename = "KMSKeyArn", default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Value,
    pub revision_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Value>,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason_code: Option<String>,
    pub last_update_status: LastUpdateStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system_configs: Option<Value>,
    pub package_type: String,
    pub architectures: Vec<String>,
    pub ephemeral_storage: EphemeralStorage,
    pub snap_start: SnapStartResponse,
    pub runtime_version_config: RuntimeVersionConfig,
    pub logging_config: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentResponse {
    #[serde(rename = "Variables", default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EphemeralStorage {
    #[serde(rename = "Size")]
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStartResponse {
    pub apply_on: String,
    pub optimization_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeVersionConfig {
    pub runtime_version_arn: String,
}

/// `AliasConfiguration` of the service model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasConfiguration {
    pub alias_arn: String,
    pub name: String,
    pub function_version: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_config: Option<RoutingConfig>,
    pub revision_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingConfig {
    #[serde(rename = "AdditionalVersionWeights", default)]
    pub additional_version_weights: BTreeMap<String, f64>,
}

/// `PutRuntimeManagementConfig` as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeManagement {
    pub update_runtime_on: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
}

impl Default for RuntimeManagement {
    fn default() -> Self {
        RuntimeManagement {
            update_runtime_on: "Auto".to_string(),
            runtime_version_arn: None,
        }
    }
}

/// One version of a function as stored: what the API shows plus where its code is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub configuration: FunctionConfiguration,
    /// Hex SHA-256 of the component: its key in the code store and the compile cache (for a
    /// managed runtime's function, the runtime's component).
    pub wasm_sha256: String,
    /// A managed runtime's function: hex SHA-256 of its zip of sources (`sources/<sha>.zip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    /// Hot reload: the code is this local directory (or `.wasm` file), read as it is now by
    /// every new execution environment, instead of a stored package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_reload: Option<std::path::PathBuf>,
    /// For a published version: the fingerprint of the $LATEST it was published from, so that
    /// publishing an unchanged $LATEST again is a no-op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_from: Option<String>,
    /// SnapStart: the hash of the snapshot taken after Init (stored as code), which this
    /// version's environments restore from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_sha256: Option<String>,
}

/// Everything about one function: the document `functions/<name>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub latest: VersionRecord,
    #[serde(default)]
    pub versions: BTreeMap<u64, VersionRecord>,
    #[serde(default)]
    pub aliases: BTreeMap<String, AliasConfiguration>,
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    #[serde(default)]
    pub runtime_management: RuntimeManagement,
    /// Asynchronous invocation settings per qualifier (`$LATEST`, a version or an alias).
    #[serde(default)]
    pub event_invoke_configs: BTreeMap<String, EventInvokeConfig>,
    /// Function URLs per qualifier (`$LATEST` or an alias).
    #[serde(default)]
    pub url_configs: BTreeMap<String, UrlConfig>,
    /// Provisioned concurrency per qualifier (a version or an alias).
    #[serde(default)]
    pub provisioned: BTreeMap<String, ProvisionedConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Resource-based policies: the function's under `""`, a qualifier's under its name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, crate::policies::Policy>,
    /// PutFunctionCodeSigningConfig's ARN, stored and echoed (lambkin verifies no signatures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_signing_config_arn: Option<String>,
    /// PutFunctionRecursionConfig's RecursiveLoop (`Terminate` unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_loop: Option<String>,
}

impl FunctionRecord {
    /// A new function: `latest` and nothing else yet.
    pub fn new(latest: VersionRecord) -> FunctionRecord {
        FunctionRecord {
            latest,
            versions: BTreeMap::new(),
            aliases: BTreeMap::new(),
            reserved_concurrency: None,
            runtime_management: RuntimeManagement::default(),
            event_invoke_configs: BTreeMap::new(),
            url_configs: BTreeMap::new(),
            provisioned: BTreeMap::new(),
            tags: BTreeMap::new(),
            policies: BTreeMap::new(),
            code_signing_config_arn: None,
            recursive_loop: None,
        }
    }
}

/// A provisioned concurrency configuration as stored (the counts of the response are the
/// environment pool's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedConfig {
    pub requested: u32,
    pub last_modified: String,
}

/// A function URL as stored; the API renders it as `FunctionUrlConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlConfig {
    /// 32 lowercase letters and digits: the URL's host label and path segment.
    pub url_id: String,
    pub auth_type: AuthType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    pub invoke_mode: InvokeMode,
    pub creation_time: String,
    pub last_modified_time: String,
}

/// `Cors` of the service model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
}

/// `FunctionEventInvokeConfig` of the service model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfig {
    /// Seconds since the Unix epoch (the model's `Date`).
    pub last_modified: f64,
    pub function_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_config: Option<DestinationConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<Destination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<Destination>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    #[serde(rename = "Destination", default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}
