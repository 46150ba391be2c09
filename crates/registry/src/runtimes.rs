//! Managed runtimes: Python and Node.js functions, whose code is a zip of sources run by a
//! runtime component lambkin provides. Every function of a runtime shares its one component
//! (stored once under `code/`, compiled once); the function's zip is stored at
//! `sources/<sha256>.zip` and unpacked once per hash, read-only at `/var/task`; the runtime's own
//! files (Python's standard library) are read-only at `/var/lang`.

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::PutPayload;
use object_store::path::Path as StorePath;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

use super::{Registry, hot_reload, package, store_error};
use crate::RegistryError;

/// The managed runtimes lambkin knows, whether or not this build carries them.
pub const MANAGED_RUNTIMES: &[&str] = &["python3.14", "nodejs22.x"];

/// A managed runtime as the registry is opened with it.
#[derive(Debug, Clone)]
pub struct ManagedRuntime {
    /// The `Runtime` name (`python3.14`).
    pub name: String,
    /// The runtime component.
    pub wasm: Bytes,
    /// The runtime's own files, mounted read-only at `/var/lang` (host path).
    pub files: Option<PathBuf>,
    /// What the runtime is (interpreter, bootstrap, engine): its RuntimeVersionArn is made of it.
    pub version: String,
}

/// A managed runtime once its component is stored.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeImage {
    pub wasm_sha256: String,
    pub files: Option<PathBuf>,
    pub version_arn: String,
}

/// A package as a request names it: its bytes, or a hot-reloaded local path.
#[derive(Clone)]
pub(crate) enum PackageInput {
    Bytes(Vec<u8>),
    HotReload(PathBuf),
}

/// Code as a version stores it: a component, or sources run by a managed runtime.
pub(crate) struct StoredPackage {
    /// The component to compile: the function's own, or its runtime's.
    pub wasm_sha256: String,
    /// The component's bytes, when they are the function's own (to store under `code/`).
    pub wasm: Option<Vec<u8>>,
    /// A managed runtime's function: its zip and the zip's hash.
    pub source: Option<(String, Vec<u8>)>,
    /// Hot reload: the local path that is the code.
    pub hot_reload: Option<PathBuf>,
    pub code_sha256: String,
    pub code_size: u64,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn source_key(sha256: &str) -> StorePath {
    StorePath::from(format!("sources/{sha256}.zip"))
}

impl Registry {
    /// The image of `runtime` when it is a managed one; a clear error when lambkin knows it but
    /// this build does not carry it.
    pub(crate) fn managed_runtime(&self, runtime: &str) -> Result<Option<&RuntimeImage>, RegistryError> {
        match self.runtimes.get(runtime) {
            Some(image) => Ok(Some(image)),
            None if MANAGED_RUNTIMES.contains(&runtime) => Err(RegistryError::Invalid(format!(
                "The runtime parameter of {runtime} is not available on this lambkin: it was built without it (building a managed runtime needs python3 and PyPI, or node and npm; see the README)"
            ))),
            None => Ok(None),
        }
    }

    /// The RuntimeVersionArn of `runtime`: its image's, or the node's for the `provided` family.
    pub fn runtime_version_arn_of(&self, runtime: &str) -> String {
        self.runtimes
            .get(runtime)
            .map_or_else(|| self.runtime_version_arn(), |image| image.version_arn.clone())
    }

    /// Reads a package for `runtime`: a component (raw or zipped, found by `handler`), or a
    /// managed runtime's zip of sources (checked as layers are); for hot reload, the component
    /// the path holds now, or for a managed runtime the directory of sources.
    pub(crate) async fn read_package(
        &self,
        input: PackageInput,
        runtime: &str,
        handler: &str,
    ) -> Result<StoredPackage, RegistryError> {
        let image = self.managed_runtime(runtime)?.cloned();
        let handler = handler.to_string();
        let runtime = runtime.to_string();
        // Unzipping and hashing megabytes is no work for a runtime thread.
        tokio::task::spawn_blocking(move || match (input, image) {
            (PackageInput::Bytes(bytes), None) => {
                let package = crate::function_input::read_package(bytes, &handler)?;
                Ok(StoredPackage {
                    wasm_sha256: package.wasm_sha256,
                    wasm: Some(package.wasm),
                    source: None,
                    hot_reload: None,
                    code_sha256: package.code_sha256,
                    code_size: package.code_size,
                })
            }
            (PackageInput::Bytes(bytes), Some(image)) => {
                use base64::Engine as _;
                let code_sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
                let code_size = bytes.len() as u64;
                if !bytes.starts_with(b"PK") {
                    return Err(RegistryError::InvalidPackage(format!(
                        "Could not unzip uploaded file. A {runtime} function's code is a zip of its sources."
                    )));
                }
                package::check_layer(&bytes)?;
                Ok(StoredPackage {
                    wasm_sha256: image.wasm_sha256,
                    wasm: None,
                    source: Some((sha256_hex(&bytes), bytes)),
                    hot_reload: None,
                    code_sha256,
                    code_size,
                })
            }
            (PackageInput::HotReload(path), None) => {
                // Checked as it is now, as a deployment would be; read again by each new
                // environment.
                let file = hot_reload::component_path(&path, &handler);
                let bytes = std::fs::read(&file).map_err(|e| {
                    RegistryError::InvalidPackage(format!("Cannot read {}: {e}", file.display()))
                })?;
                let package = crate::function_input::read_package(bytes, &handler)?;
                Ok(StoredPackage {
                    wasm_sha256: package.wasm_sha256,
                    wasm: Some(package.wasm),
                    source: None,
                    hot_reload: Some(path),
                    code_sha256: hot_reload::HOT_RELOAD_CODE_SHA256.into(),
                    code_size: 0,
                })
            }
            (PackageInput::HotReload(path), Some(image)) => {
                if !path.is_dir() {
                    return Err(RegistryError::InvalidPackage(format!(
                        "A hot-reloaded {runtime} function's code is a directory of its sources; {} is not one",
                        path.display()
                    )));
                }
                Ok(StoredPackage {
                    wasm_sha256: image.wasm_sha256,
                    wasm: None,
                    source: None,
                    hot_reload: Some(path),
                    code_sha256: hot_reload::HOT_RELOAD_CODE_SHA256.into(),
                    code_size: 0,
                })
            }
        })
        .await
        .map_err(|e| RegistryError::Storage(format!("reading the package: {e}")))?
    }

    /// Stores what a package brings: its component, or its sources.
    pub(crate) async fn put_package(&self, package: &mut StoredPackage) -> Result<(), RegistryError> {
        if let Some(wasm) = package.wasm.take() {
            self.put_code(&package.wasm_sha256, wasm).await?;
        }
        if let Some((sha256, zip)) = &mut package.source {
            let zip = std::mem::take(zip);
            self.store
                .put(&source_key(sha256), PutPayload::from(zip))
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// UpdateFunctionConfiguration's `Runtime`: the code stays as it is, so only a change within
    /// the `provided` family (components) is possible in place.
    pub(crate) fn check_runtime_change(&self, from: &str, to: &str) -> Result<(), RegistryError> {
        let managed_to = self.managed_runtime(to)?.is_some();
        let managed_from = self.runtimes.contains_key(from) || MANAGED_RUNTIMES.contains(&from);
        if managed_to || managed_from {
            return Err(RegistryError::Invalid(format!(
                "The runtime cannot change from {from} to {to} in place: the function's code is for {from}. Create a function with the {to} runtime and its code instead."
            )));
        }
        Ok(())
    }

    /// The `/var/task` of a managed runtime's function: its zip unpacked, once per hash.
    pub async fn task_dir(&self, source_sha256: &str) -> Result<PathBuf, RegistryError> {
        let dest = self.task_root.join(source_sha256);
        if dest.exists() {
            return Ok(dest);
        }
        let object = self
            .store
            .get(&source_key(source_sha256))
            .await
            .map_err(store_error)?;
        let zip = object.bytes().await.map_err(store_error)?;
        package::unpack_once(vec![zip], self.task_root.clone(), dest).await
    }

    /// Whether `runtime` is a managed runtime this node provides.
    pub fn is_managed(&self, runtime: &str) -> bool {
        self.runtimes.contains_key(runtime)
    }

    /// The `/var/lang` of `runtime`, if it has files of its own.
    pub fn runtime_dir(&self, runtime: &str) -> Option<PathBuf> {
        self.runtimes.get(runtime).and_then(|image| image.files.clone())
    }
}

/// The RuntimeVersionArn of a managed runtime: what it is and its component.
pub fn runtime_version_arn(region: &str, version: &str, wasm_sha256: &str) -> String {
    let id = sha256_hex(format!("{version}\n{wasm_sha256}").as_bytes());
    format!("arn:aws:lambda:{region}::runtime:{id}")
}

/// The handler Lambda's console gives a new function of `runtime`.
pub fn default_handler(runtime: &str) -> &'static str {
    if runtime.starts_with("nodejs") {
        "index.handler"
    } else {
        "lambda_function.lambda_handler"
    }
}

/// Stores each runtime's component and makes its image.
pub(crate) async fn store_images(
    store: &dyn object_store::ObjectStore,
    region: &str,
    runtimes: Vec<ManagedRuntime>,
) -> anyhow::Result<std::collections::BTreeMap<String, RuntimeImage>> {
    let mut images = std::collections::BTreeMap::new();
    for runtime in runtimes {
        let wasm_sha256 = sha256_hex(&runtime.wasm);
        let key = StorePath::from(format!("code/{wasm_sha256}.wasm"));
        if store.head(&key).await.is_err() {
            store.put(&key, PutPayload::from(runtime.wasm)).await?;
        }
        images.insert(
            runtime.name,
            RuntimeImage {
                version_arn: runtime_version_arn(region, &runtime.version, &wasm_sha256),
                wasm_sha256,
                files: runtime.files,
            },
        );
    }
    Ok(images)
}
