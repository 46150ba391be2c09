//! Entry points for the fuzz targets of `fuzz/` (cargo fuzz) and for the replay of their corpus
//! (`tests/fuzz_corpus.rs`): hostile bytes through the code that reads them first.
//!
//! Each entry point takes any bytes and runs the real parsing and validation (the functions the
//! API and the registry call, never a copy), touches neither the filesystem nor the network, and
//! must not panic: whatever the input, it is accepted or refused with an
//! [`ApiError`]. Checks that the registry makes against stored state run
//! against a fixed fixture: function `fixture` with versions 1 and 2, alias `live`, layer `deps`
//! version 1, and other functions reserving [`OTHER_RESERVATIONS`] of the account's concurrency.
//!
//! Each returns whether the input got all the way through (accepted), so that the replay can
//! check that the corpus does not stop at the first check.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use crate::invoke::InvokeParams;
use crate::{self as api, ApiError, FunctionRef};
use lambkin_registry::functions::{self, PackageSource};
use lambkin_registry::layers::{self, LayerContent, LayerVersion, Layers};
use lambkin_registry::model::{
    AliasConfiguration, EphemeralStorage, FunctionConfiguration, FunctionRecord, LastUpdateStatus,
    RuntimeVersionConfig, SnapStartResponse, State, VersionRecord,
};
use lambkin_registry::{
    ACCOUNT_CONCURRENCY, AliasInput, ConfigurationInput, CreateFunctionInput, PublishInput,
    PublishLayerInput, Registry, UpdateCodeInput, UrlInput, aliases, event_config, package, provisioned,
    settings, urls, validate, versions,
};

/// The fixture's account and region: ARNs naming others are not found.
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// The handler [`package`] looks for in a zip (CreateFunction's default).
pub const HANDLER: &str = "function.wasm";
/// Concurrency the fixture's other functions reserve.
pub const OTHER_RESERVATIONS: u32 = 300;
/// Provisioned concurrency the fixture's other qualifiers hold.
pub const OTHER_PROVISIONED: u32 = 10;

/// The request bodies [`api_json`] reads, by the value of its first byte (modulo their number).
pub const BODIES: [&str; 12] = [
    "CreateFunction",
    "UpdateFunctionConfiguration",
    "UpdateFunctionCode",
    "PublishVersion",
    "CreateAlias",
    "UpdateAlias",
    "PutFunctionConcurrency",
    "PutProvisionedConcurrencyConfig",
    "PutFunctionEventInvokeConfig",
    "CreateFunctionUrlConfig",
    "PublishLayerVersion",
    "Invoke",
];

/// A deployment package (`Code.ZipFile`, decoded): a raw component or a zip holding
/// [`HANDLER`], read as CreateFunction reads it; and the same bytes as a layer archive.
pub fn package(data: &[u8]) -> bool {
    let as_function = functions::read_package(data.to_vec(), HANDLER).is_ok();
    let as_layer = package::check_layer(data).is_ok();
    as_function || as_layer
}

/// A request body of the API: the first byte picks the operation (see [`BODIES`]), the rest is
/// the body. For Invoke, the rest is `name: value` header lines, an empty line, then the payload
/// (no empty line: the whole rest is the payload).
pub fn api_json(data: &[u8]) -> bool {
    let Some((&selector, body)) = data.split_first() else {
        return false;
    };
    let fixture = Fixture::new();
    let outcome = match usize::from(selector) % BODIES.len() {
        0 => create_function(body, &fixture),
        1 => update_configuration(body, &fixture),
        2 => update_code(body, &fixture),
        3 => publish_version(body, &fixture),
        4 => create_alias(body, &fixture),
        5 => update_alias(body, &fixture),
        6 => put_concurrency(body),
        7 => put_provisioned(body),
        8 => api::body(body).and_then(|input| Ok(event_config::check(&input)?)),
        9 => api::body::<UrlInput>(body).and_then(|input| Ok(urls::check(&input)?)),
        10 => publish_layer(body),
        _ => invoke(body),
    };
    outcome.is_ok()
}

/// The identifiers of paths and bodies: the first line is a function name, partial or full ARN
/// (possibly qualified), a layer name or ARN, or a comma-separated list of layer version ARNs;
/// a second line, if any, is the `Qualifier` query parameter.
pub fn identifiers(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let (id, qualifier) = match text.split_once('\n') {
        Some((id, qualifier)) => (id, Some(qualifier)),
        None => (text, None),
    };
    let function = FunctionRef::parse_in(id, qualifier, ACCOUNT_ID, REGION);
    if let Ok(function) = &function {
        let _ = function.clone().unqualified();
    }
    let layer = layers::layer_name(id);
    let fixture = Fixture::new();
    let arns: Vec<String> = id.split(',').map(str::to_string).collect();
    let references = Registry::layer_references(&fixture.layers, &arns);
    let names = [
        validate::function_name(id),
        validate::alias_name(id),
        validate::qualifier(id),
        validate::role(id),
    ];
    function.is_ok() || layer.is_ok() || references.is_ok() || names.iter().any(Result::is_ok)
}

/// The stored state the registry's checks read.
struct Fixture {
    record: FunctionRecord,
    layers: Layers,
}

impl Fixture {
    fn new() -> Fixture {
        let latest = VersionRecord {
            configuration: configuration("$LATEST"),
            wasm_sha256: "00".repeat(32),
            source_sha256: None,
            hot_reload: None,
            published_from: None,
            snapshot_sha256: None,
        };
        let versions = (1..=2)
            .map(|n| {
                let mut version = latest.clone();
                version.configuration = configuration(&n.to_string());
                (n, version)
            })
            .collect();
        let alias = AliasConfiguration {
            alias_arn: format!("{}:live", function_arn()),
            name: "live".into(),
            function_version: "1".into(),
            description: String::new(),
            routing_config: None,
            revision_id: "alias-revision".into(),
        };
        let layer_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:deps");
        let layer = LayerVersion {
            content: LayerContent {
                location: "lambkin://layers/deps/1.zip".into(),
                code_sha256: String::new(),
                code_size: 22,
            },
            layer_version_arn: format!("{layer_arn}:1"),
            layer_arn,
            description: String::new(),
            created_date: String::new(),
            version: 1,
            compatible_runtimes: Vec::new(),
            license_info: None,
            compatible_architectures: Vec::new(),
        };
        Fixture {
            record: FunctionRecord {
                versions,
                aliases: BTreeMap::from([("live".to_string(), alias)]),
                ..FunctionRecord::new(latest)
            },
            layers: BTreeMap::from([("deps".to_string(), BTreeMap::from([(1, layer)]))]),
        }
    }

    fn latest(&self) -> FunctionConfiguration {
        self.record.latest.configuration.clone()
    }
}

fn function_arn() -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:fixture")
}

/// The fixture's configuration of `version`, as CreateFunction makes it.
fn configuration(version: &str) -> FunctionConfiguration {
    FunctionConfiguration {
        function_name: "fixture".into(),
        function_arn: function_arn(),
        runtime: "provided.al2023".into(),
        role: format!("arn:aws:iam::{ACCOUNT_ID}:role/fixture"),
        handler: HANDLER.into(),
        code_size: 8,
        description: String::new(),
        timeout: 3,
        memory_size: 128,
        last_modified: "2024-01-01T00:00:00.000+0000".into(),
        code_sha256: "fixture-sha".into(),
        version: version.into(),
        vpc_config: None,
        dead_letter_config: None,
        environment: None,
        kms_key_arn: None,
        tracing_config: json!({ "Mode": "PassThrough" }),
        revision_id: "fixture-revision".into(),
        layers: Vec::new(),
        state: State::Active,
        state_reason: None,
        state_reason_code: None,
        last_update_status: LastUpdateStatus::Successful,
        last_update_status_reason: None,
        last_update_status_reason_code: None,
        file_system_configs: None,
        package_type: "Zip".into(),
        architectures: vec!["x86_64".into()],
        ephemeral_storage: EphemeralStorage { size: 512 },
        snap_start: SnapStartResponse {
            apply_on: "None".into(),
            optimization_status: "Off".into(),
        },
        runtime_version_config: RuntimeVersionConfig {
            runtime_version_arn: lambkin_sandbox::runtime_version_arn(REGION),
        },
        logging_config: json!({ "LogFormat": "Text", "LogGroup": "/aws/lambda/fixture" }),
    }
}

/// CreateFunction, in the registry's order: input, code, architectures, configuration.
fn create_function(body: &[u8], fixture: &Fixture) -> Result<(), ApiError> {
    let input: CreateFunctionInput = api::body(body)?;
    let required = functions::check_create(&input)?;
    let code = &input.code;
    let source = functions::package_source(
        code.zip_file.as_deref(),
        code.s3_bucket.as_deref(),
        code.s3_key.as_deref(),
        code.image_uri.as_deref(),
    )?;
    if let PackageSource::Inline(bytes) = source {
        functions::read_package(bytes, &required.handler)?;
    }
    functions::architectures(input.architectures)?;
    Ok(functions::apply(
        &mut fixture.latest(),
        input.configuration,
        &fixture.layers,
    )?)
}

fn update_configuration(body: &[u8], fixture: &Fixture) -> Result<(), ApiError> {
    let input: ConfigurationInput = api::body(body)?;
    let mut config = fixture.latest();
    functions::check_revision(input.revision_id.as_deref(), &config.revision_id)?;
    Ok(functions::apply(&mut config, input, &fixture.layers)?)
}

fn update_code(body: &[u8], fixture: &Fixture) -> Result<(), ApiError> {
    let input: UpdateCodeInput = api::body(body)?;
    let source = functions::package_source(
        input.zip_file.as_deref(),
        input.s3_bucket.as_deref(),
        input.s3_key.as_deref(),
        input.image_uri.as_deref(),
    )?;
    let latest = fixture.latest();
    functions::check_revision(input.revision_id.as_deref(), &latest.revision_id)?;
    if let PackageSource::Inline(bytes) = source {
        functions::read_package(bytes, &latest.handler)?;
    }
    if let Some(list) = input.architectures {
        functions::architectures(Some(list))?;
    }
    Ok(())
}

fn publish_version(body: &[u8], fixture: &Fixture) -> Result<(), ApiError> {
    let input: PublishInput = api::body(body)?;
    Ok(versions::check_publish(&input, &fixture.latest())?)
}

fn create_alias(body: &[u8], fixture: &Fixture) -> Result<(), ApiError> {
    let input: AliasInput = api::body(body)?;
    let (_, version, _) = aliases::check_new_alias(&input)?;
    Ok(aliases::check_routing(
        &fixture.record,
        &function_arn(),
        &version,
        input.routing_config.as_ref(),
    )?)
}

fn update_alias(body: &[u8], fixture: &Fixture) -> Result<(), ApiError> {
    let input: AliasInput = api::body(body)?;
    let mut alias = fixture.record.aliases["live"].clone();
    aliases::apply_alias_update(&mut alias, input)?;
    Ok(aliases::check_routing(
        &fixture.record,
        &function_arn(),
        &alias.function_version,
        alias.routing_config.as_ref(),
    )?)
}

fn put_concurrency(body: &[u8]) -> Result<(), ApiError> {
    let reserved = api::settings::reserved_concurrency(body)?;
    Ok(settings::check_reservation(
        OTHER_RESERVATIONS,
        reserved,
        ACCOUNT_CONCURRENCY,
    )?)
}

/// With and without a reservation on the function.
fn put_provisioned(body: &[u8]) -> Result<(), ApiError> {
    let input: api::provisioned::Input = api::body(body)?;
    let (_, requested) = provisioned::check_provisioned_request(Some("live"), input.requested)?;
    let unreserved = ACCOUNT_CONCURRENCY - OTHER_RESERVATIONS;
    let reserved = Some(OTHER_RESERVATIONS);
    let with = provisioned::check_provisioned_capacity(OTHER_PROVISIONED, requested, reserved, unreserved);
    let without = provisioned::check_provisioned_capacity(OTHER_PROVISIONED, requested, None, unreserved);
    Ok(with.and(without)?)
}

fn publish_layer(body: &[u8]) -> Result<(), ApiError> {
    let input: PublishLayerInput = api::body(body)?;
    layers::check_publish_layer(&input)?;
    let content = input.content.unwrap_or_default();
    if let PackageSource::Inline(zip) = layers::layer_source(&content)? {
        package::check_layer(&zip)?;
    }
    Ok(())
}

/// Header lines, an empty line, the payload.
fn invoke(data: &[u8]) -> Result<(), ApiError> {
    let (head, payload) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii_start();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    InvokeParams::parse(&headers, bytes::Bytes::copy_from_slice(payload)).map(|_| ())
}
