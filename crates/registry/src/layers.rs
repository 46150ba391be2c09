//! Layers: PublishLayerVersion, GetLayerVersion, ListLayerVersions, DeleteLayerVersion,
//! ListLayers (their permissions: `layer_policies`), and the `/opt` directory a function's layers make (mounted read-only).
//!
//! Store layout: `layers/<name>/<version>.json` (the version's metadata), `layers/<name>/<version>.zip`
//! (its archive), `layer-counters/<name>.json` (last version number, never reused).

use base64::Engine as _;
use object_store::ObjectStoreExt;
use object_store::PutPayload;
use object_store::path::Path as StorePath;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::functions::{PackageSource, decode_zip_file, paginate};
use super::{Registry, now_timestamp, package, store_error, validate};
use crate::RegistryError;

/// Lambda's limit on layers per function.
pub const MAX_LAYERS_PER_FUNCTION: usize = 5;

/// One layer version, shaped as GetLayerVersion returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersion {
    pub content: LayerContent,
    pub layer_arn: String,
    pub layer_version_arn: String,
    pub description: String,
    pub created_date: String,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compatible_runtimes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_info: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compatible_architectures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerContent {
    pub location: String,
    pub code_sha256: String,
    pub code_size: u64,
}

impl LayerVersion {
    /// Whether it lists `runtime` among its compatible runtimes (any runtime when `None`).
    fn runs_on(&self, runtime: Option<&str>) -> bool {
        runtime.is_none_or(|r| self.compatible_runtimes.iter().any(|c| c == r))
    }

    /// The `LayerVersionsListItem` view (no Content, no LayerArn).
    pub fn list_item(&self) -> serde_json::Value {
        let mut item = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = item.as_object_mut() {
            object.remove("Content");
            object.remove("LayerArn");
        }
        item
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishLayerInput {
    pub description: Option<String>,
    pub content: Option<LayerContentInput>,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    pub license_info: Option<String>,
    #[serde(default)]
    pub compatible_architectures: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerContentInput {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
}

/// The layers the registry holds: name → version → metadata.
pub type Layers = BTreeMap<String, BTreeMap<u64, LayerVersion>>;

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(message.into())
}

/// A layer name, or the layer's ARN, as the `{LayerName}` path segment.
pub fn layer_name(id: &str) -> Result<String, RegistryError> {
    let name = match id.split_once(":layer:") {
        Some((prefix, name)) if prefix.starts_with("arn:") => name,
        _ => id,
    };
    let ok = !name.is_empty()
        && name.len() <= 140
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(invalid(format!(
            "1 validation error detected: Value '{id}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
        )));
    }
    Ok(name.to_string())
}

/// PublishLayerVersion's checks on its input before the archive: Description, CompatibleRuntimes,
/// LicenseInfo.
pub fn check_publish_layer(input: &PublishLayerInput) -> Result<(), RegistryError> {
    validate::description(input.description.as_deref().unwrap_or_default())?;
    for runtime in &input.compatible_runtimes {
        validate::runtime(runtime)?;
    }
    if input.license_info.as_ref().is_some_and(|l| l.len() > 512) {
        return Err(invalid("LicenseInfo must be at most 512 characters"));
    }
    Ok(())
}

/// Where a layer's archive comes from: `Content.ZipFile` (decoded here) or `S3Bucket`/`S3Key`.
pub fn layer_source(content: &LayerContentInput) -> Result<PackageSource<'_>, RegistryError> {
    match (&content.zip_file, &content.s3_bucket, &content.s3_key) {
        (Some(b64), _, _) => decode_zip_file(b64).map(PackageSource::Inline),
        (None, Some(bucket), Some(key)) => Ok(PackageSource::Bucket { bucket, key }),
        _ => Err(invalid(
            "Please provide a source for the layer content (Content.ZipFile or S3Bucket/S3Key).",
        )),
    }
}

impl Registry {
    pub(crate) fn layer_arn(&self, name: &str) -> String {
        format!("arn:aws:lambda:{}:{}:layer:{name}", self.region, self.account_id)
    }

    pub async fn publish_layer_version(
        &self,
        name: &str,
        input: PublishLayerInput,
    ) -> Result<LayerVersion, RegistryError> {
        check_publish_layer(&input)?;
        let description = input.description.unwrap_or_default();
        let content = input.content.unwrap_or_default();
        let zip = match layer_source(&content)? {
            PackageSource::Inline(bytes) => bytes,
            PackageSource::Bucket { bucket, key } => self.s3_object(bucket, key).await?.to_vec(),
        };
        // Reading every entry of the archive and hashing it is blocking work.
        let (zip, code_sha256) = tokio::task::spawn_blocking(move || {
            package::check_layer(&zip)?;
            let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
            Ok::<_, RegistryError>((zip, sha))
        })
        .await
        .map_err(|e| RegistryError::Storage(format!("reading the layer: {e}")))??;

        let _writer = self.layer_writer.lock().await;
        let number = {
            let state = self.read();
            super::RegistryLimits::check(
                state.layers.values().map(BTreeMap::len).sum(),
                self.limits.max_layer_versions,
                "layer versions",
                "--max-layer-versions",
            )?;
            state.layer_counters.get(name).copied().unwrap_or(0) + 1
        };
        let layer_arn = self.layer_arn(name);
        let version = LayerVersion {
            content: LayerContent {
                location: format!("lambkin://layers/{name}/{number}.zip"),
                code_sha256,
                code_size: zip.len() as u64,
            },
            layer_version_arn: format!("{layer_arn}:{number}"),
            layer_arn,
            description,
            created_date: now_timestamp(),
            version: number,
            compatible_runtimes: input.compatible_runtimes,
            license_info: input.license_info,
            compatible_architectures: input.compatible_architectures,
        };
        let base = format!("layers/{name}/{number}");
        self.store
            .put(&StorePath::from(format!("{base}.zip")), PutPayload::from(zip))
            .await
            .map_err(store_error)?;
        let json = serde_json::to_vec_pretty(&version).map_err(|e| RegistryError::Storage(e.to_string()))?;
        self.store
            .put(&StorePath::from(format!("{base}.json")), PutPayload::from(json))
            .await
            .map_err(store_error)?;
        self.store
            .put(
                &StorePath::from(format!("layer-counters/{name}.json")),
                PutPayload::from(number.to_string().into_bytes()),
            )
            .await
            .map_err(store_error)?;
        let mut state = self.write();
        state.layer_counters.insert(name.to_string(), number);
        state
            .layers
            .entry(name.to_string())
            .or_default()
            .insert(number, version.clone());
        Ok(version)
    }

    pub async fn get_layer_version(&self, name: &str, number: u64) -> Result<LayerVersion, RegistryError> {
        let state = self.read();
        state
            .layers
            .get(name)
            .and_then(|versions| versions.get(&number))
            .cloned()
            .ok_or_else(|| self.layer_not_found(name, number))
    }

    pub(crate) fn layer_not_found(&self, name: &str, number: u64) -> RegistryError {
        RegistryError::NotFound(format!(
            "The resource you requested does not exist. Layer version {}:{number} not found",
            self.layer_arn(name)
        ))
    }

    /// ListLayerVersions: newest first.
    pub async fn list_layer_versions(
        &self,
        name: &str,
        runtime: Option<&str>,
        marker: Option<&str>,
        max_items: usize,
    ) -> (Vec<serde_json::Value>, Option<String>) {
        let state = self.read();
        let items = state
            .layers
            .get(name)
            .into_iter()
            .flat_map(|versions| versions.values().rev())
            .filter(|v| v.runs_on(runtime))
            .map(LayerVersion::list_item)
            .collect();
        paginate(items, marker, max_items)
    }

    /// ListLayers: every layer with its latest version (matching `runtime` when given).
    pub async fn list_layers(
        &self,
        runtime: Option<&str>,
        marker: Option<&str>,
        max_items: usize,
    ) -> (Vec<serde_json::Value>, Option<String>) {
        let state = self.read();
        let items = state
            .layers
            .iter()
            .filter_map(|(name, versions)| {
                let latest = versions.values().rev().find(|v| v.runs_on(runtime))?;
                Some(serde_json::json!({
                    "LayerName": name,
                    "LayerArn": latest.layer_arn,
                    "LatestMatchingVersion": latest.list_item(),
                }))
            })
            .collect();
        paginate(items, marker, max_items)
    }

    /// DeleteLayerVersion: idempotent, as Lambda's. Functions that use it keep their copy; its
    /// policy goes with it.
    pub async fn delete_layer_version(&self, name: &str, number: u64) -> Result<(), RegistryError> {
        let _writer = self.layer_writer.lock().await;
        let base = format!("layers/{name}/{number}");
        let objects = [
            StorePath::from(format!("{base}.json")),
            StorePath::from(format!("{base}.zip")),
            super::layer_policies::policy_key(name, number),
        ];
        for object in &objects {
            match self.store.delete(object).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        let mut state = self.write();
        state.layer_policies.remove(&(name.to_string(), number));
        if let Some(versions) = state.layers.get_mut(name) {
            versions.remove(&number);
            if versions.is_empty() {
                state.layers.remove(name);
            }
        }
        Ok(())
    }

    /// The `Layers` of a configuration: each ARN must name an existing layer version.
    pub fn layer_references(
        layers: &Layers,
        arns: &[String],
    ) -> Result<Vec<serde_json::Value>, RegistryError> {
        if arns.len() > MAX_LAYERS_PER_FUNCTION {
            return Err(invalid(format!(
                "Cannot reference more than {MAX_LAYERS_PER_FUNCTION} layers, got {}",
                arns.len()
            )));
        }
        arns.iter()
            .map(|arn| {
                let found = arn.rsplit_once(':').and_then(|(layer, number)| {
                    let name = layer.split_once(":layer:")?.1;
                    layers
                        .get(name)?
                        .get(&number.parse().ok()?)
                        .filter(|v| v.layer_version_arn == *arn)
                });
                match found {
                    Some(v) => Ok(serde_json::json!({ "Arn": arn, "CodeSize": v.content.code_size })),
                    None => Err(invalid(format!("Layer version {arn} does not exist."))),
                }
            })
            .collect()
    }

    /// The read-only `/opt` of a function with these layers: their archives unpacked in order,
    /// once per distinct set, under the registry's local `opt` directory.
    pub async fn opt_dir(&self, layer_arns: &[String]) -> Result<Option<PathBuf>, RegistryError> {
        if layer_arns.is_empty() {
            return Ok(None);
        }
        let id = hex::encode(Sha256::digest(layer_arns.join("\n").as_bytes()));
        let dest = self.opt_root.join(&id);
        if dest.exists() {
            return Ok(Some(dest));
        }
        let mut archives = Vec::with_capacity(layer_arns.len());
        for arn in layer_arns {
            let (layer, number) = arn
                .rsplit_once(':')
                .ok_or_else(|| invalid(format!("Bad layer ARN {arn}")))?;
            let name = layer.split_once(":layer:").map(|(_, n)| n).unwrap_or(layer);
            let path = StorePath::from(format!("layers/{name}/{number}.zip"));
            let object = self.store.get(&path).await.map_err(store_error)?;
            archives.push(object.bytes().await.map_err(store_error)?);
        }
        package::unpack_once(archives, self.opt_root.clone(), dest)
            .await
            .map(Some)
    }
}
