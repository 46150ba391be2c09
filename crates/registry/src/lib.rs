//! # lambkin-registry
//!
//! Functions, versions, aliases and their configuration, persisted on object_store: no HTTP,
//! no wasm. Every document is written before the request that changed it is answered, so a
//! `kill -9` loses nothing that was acknowledged.
//!
//! Concurrency: the in-memory copy sits under a std `RwLock` that is held for a lookup or an
//! insert only, never across an `.await`; writes of one function are serialised by that
//! function's own async lock, held from reading its record to storing the new one, so a slow
//! store delays only that function's writes. The record becomes visible (and the generation
//! moves) only once it is stored. On a store shared by several nodes (S3), a function's writes
//! are also compared with the store's copy, and each node reads the others' writes every second
//! (see [`shared`]).
//!
//! Layout in the store:
//! - `functions/<name>.json`: a [`FunctionRecord`] ($LATEST, versions, aliases, settings);
//! - `counters/<name>.json`: the last version number ever published under that name (kept after
//!   the function is deleted, so numbers are never reused);
//! - `code/<sha256>.wasm`: components by content hash;
//! - `sources/<sha256>.zip`: managed runtimes' function code (see [`runtimes`]);
//! - `layers/…`, `layer-counters/…`: see [`layers`]; `layer-policies/…`: see [`layer_policies`];
//! - `code-signing-configs/<id>.json`: see [`code_signing`].
//!
//! `Code.S3Bucket`/`S3Key` are read from a second object store, `buckets` (by default the
//! directory `buckets/` of the data directory, one subdirectory per bucket), except the
//! [`hot_reload`] bucket, which names a local path.

pub mod aliases;
pub mod code_signing;
mod environment;
mod error;
pub mod event_config;
mod function_input;
pub mod functions;
pub mod hot_reload;
mod ident;
pub mod layer_policies;
pub mod layers;
mod lifecycle;
pub mod model;
pub mod package;
pub mod policies;
pub mod provisioned;
pub mod runtimes;
pub mod settings;
mod shared;
pub mod tags;
pub mod urls;
pub mod validate;
pub mod versions;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use aliases::AliasInput;
pub use environment::{MAX_ENVIRONMENT_BYTES, RESERVED_KEYS, validate_environment};
pub use error::RegistryError;
pub use functions::{CodeInput, ConfigurationInput, CreateFunctionInput, UpdateCodeInput};
pub use ident::FunctionRef;
pub use layer_policies::LayerPermissionInput;
pub use layers::{LayerVersion, PublishLayerInput};
pub use lifecycle::{LifecycleJob, LifecycleJobs};
pub use model::{AliasConfiguration, Cors, FunctionConfiguration, FunctionRecord, UrlConfig, VersionRecord};
pub use policies::PermissionInput;
pub use provisioned::ProvisionedTarget;
pub use settings::{ACCOUNT_CONCURRENCY, AccountSettings};
pub use shared::REFRESH_EVERY;
pub use urls::{UrlInput, UrlTarget};
pub use versions::{InvocationRoute, InvocationTarget, PublishInput};

/// What the registry is opened on.
pub struct RegistryConfig {
    /// The system of record.
    pub store: Arc<dyn ObjectStore>,
    /// Where `Code.S3Bucket`/`S3Key` are read.
    pub buckets: Buckets,
    /// Local directory for unpacked layer sets (the functions' `/opt`).
    pub opt_root: PathBuf,
    /// Local directory for managed runtimes' unpacked function code (their `/var/task`).
    pub task_root: PathBuf,
    /// The managed runtimes this node provides (Python, Node.js).
    pub runtimes: Vec<runtimes::ManagedRuntime>,
    /// Whether `Code.S3Bucket` `hot-reload` may name paths on this host.
    pub hot_reload: bool,
    /// The ARN of the runtime version the node runs functions on (RuntimeVersionConfig).
    pub runtime_version_arn: String,
    pub region: String,
    pub account_id: String,
    /// The account's concurrency limit, out of which reserved concurrency is carved.
    pub account_concurrency: u32,
    pub limits: RegistryLimits,
    /// Set when other nodes share the store: how often to read their writes (whose writes
    /// are then compared with the store's copy).
    pub refresh_every: Option<std::time::Duration>,
}

/// Caps on what the account may keep, so that no client can exhaust the store.
#[derive(Debug, Clone, Copy)]
pub struct RegistryLimits {
    pub max_functions: usize,
    /// Published versions kept per function.
    pub max_versions: usize,
    /// Layer versions kept, all layers together.
    pub max_layer_versions: usize,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        RegistryLimits {
            max_functions: 10_000,
            max_versions: 1_000,
            max_layer_versions: 10_000,
        }
    }
}

impl RegistryLimits {
    /// CodeStorageExceededException when `count` more would pass `max` (`flag` names the setting).
    fn check(count: usize, max: usize, what: &str, flag: &str) -> Result<(), RegistryError> {
        if count >= max {
            return Err(RegistryError::StorageExceeded(format!(
                "The account already holds {count} {what}, the most this lambkin keeps ({flag}={max}); \
                 delete some first"
            )));
        }
        Ok(())
    }
}

/// Where `Code.S3Bucket`/`S3Key` (and layer `Content.S3Bucket`/`S3Key`) are read from.
pub enum Buckets {
    /// A local store holding `<bucket>/<key>` (by default `buckets/` in the data directory).
    Local(Arc<dyn ObjectStore>),
    /// Real S3 (or an S3-compatible endpoint), configured from the `AWS_*` environment.
    S3,
}

/// Where functions live and how they are named.
pub struct Registry {
    store: Arc<dyn ObjectStore>,
    buckets: Buckets,
    opt_root: PathBuf,
    task_root: PathBuf,
    /// Managed runtimes by `Runtime` name.
    runtimes: BTreeMap<String, runtimes::RuntimeImage>,
    hot_reload: bool,
    runtime_version_arn: String,
    /// Where activation and snapshot work goes (the invocation layer does it).
    jobs: tokio::sync::mpsc::UnboundedSender<LifecycleJob>,
    region: String,
    account_id: String,
    account_concurrency: u32,
    limits: RegistryLimits,
    /// The in-memory copy of every document. A std lock, held only for an in-memory lookup
    /// or insert and never across an `.await`: no reader ever waits for the store.
    state: RwLock<State>,
    /// One lock per function name that serialises its writes: a write holds it from reading
    /// the record to storing the new one, so other functions' writes and all reads go on.
    writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Serialises the writes that check an account-wide budget against every function
    /// (reserved and provisioned concurrency), taken before a function's own lock.
    budget_writer: tokio::sync::Mutex<()>,
    /// Serialises layer publications and deletions.
    layer_writer: tokio::sync::Mutex<()>,
    /// Serialises writes of code signing configurations (and their use by functions).
    csc_writer: tokio::sync::Mutex<()>,
    /// Bumped by every change to a function's record, after the change is visible: what the
    /// invoker's cached routes are checked against, so the invoke path reads the registry only
    /// after a change (a route read at generation `g` saw every change up to `g`).
    generation: std::sync::atomic::AtomicU64,
    /// Set when the store is shared with other nodes: see [`shared`].
    refresh_every: Option<std::time::Duration>,
    /// This node's clock of what it learnt of the shared store (see [`shared`]).
    stamp: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct State {
    functions: BTreeMap<String, FunctionRecord>,
    /// Last version number ever published per function name.
    counters: BTreeMap<String, u64>,
    layers: layers::Layers,
    /// Last version number ever published per layer name.
    layer_counters: BTreeMap<String, u64>,
    /// (layer name, version) → its resource-based policy.
    layer_policies: BTreeMap<(String, u64), policies::Policy>,
    /// Code signing configurations by id.
    code_signing_configs: BTreeMap<String, code_signing::StoredCodeSigningConfig>,
    /// Function URL id → (function, qualifier). May hold URLs since deleted: a lookup checks
    /// the function's record, which is the truth.
    urls: std::collections::HashMap<String, (String, String)>,
    /// CreateFunction calls past the cap check and not yet finished: counted with `functions`
    /// against the cap, so creates racing under different names cannot pass it together.
    creating: usize,
    /// On a shared store: each function document's ETag as this node last saw it.
    known: HashMap<String, shared::Known>,
}

/// A place under the function cap held by a CreateFunction until it ends, stored or failed.
/// For the moment between the commit and the drop the new function counts twice: a create
/// racing it at the very cap may be refused, none is let past it.
struct CreateReservation<'a> {
    registry: &'a Registry,
}

impl Drop for CreateReservation<'_> {
    fn drop(&mut self) {
        let mut state = self.registry.write();
        state.creating = state.creating.saturating_sub(1);
    }
}

impl Registry {
    /// Opens the registry on `store`, reading every document. The receiver gets the lifecycle
    /// jobs of every write (and, first, those a crash left undone).
    pub async fn open(config: RegistryConfig) -> anyhow::Result<(Arc<Registry>, LifecycleJobs)> {
        let store = config.store;
        let mut state = State::default();
        let shared = config.refresh_every.is_some();
        for (key, e_tag, bytes) in read_all_tagged(store.as_ref(), "functions").await? {
            let record: FunctionRecord = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("corrupt registry document {key}: {e}"))?;
            let name = record.latest.configuration.function_name.clone();
            if shared {
                state.known.insert(name.clone(), shared::Known::at_open(e_tag));
            }
            state.functions.insert(name, record);
        }
        for (key, bytes) in read_all(store.as_ref(), "counters").await? {
            state
                .counters
                .insert(document_name(&key, "counters/"), counter(&key, &bytes)?);
        }
        for (key, bytes) in read_all(store.as_ref(), "layer-counters").await? {
            state
                .layer_counters
                .insert(document_name(&key, "layer-counters/"), counter(&key, &bytes)?);
        }
        for (key, bytes) in read_all(store.as_ref(), "layers").await? {
            let version: layers::LayerVersion = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("corrupt registry document {key}: {e}"))?;
            let name = key
                .trim_start_matches("layers/")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            state
                .layers
                .entry(name)
                .or_default()
                .insert(version.version, version);
        }
        for (key, bytes) in read_all(store.as_ref(), "code-signing-configs").await? {
            let stored: code_signing::StoredCodeSigningConfig = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("corrupt registry document {key}: {e}"))?;
            state
                .code_signing_configs
                .insert(stored.config.code_signing_config_id.clone(), stored);
        }
        for (key, bytes) in read_all(store.as_ref(), "layer-policies").await? {
            let policy: policies::Policy = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("corrupt registry document {key}: {e}"))?;
            let (name, number) = document_name(&key, "layer-policies/")
                .rsplit_once('/')
                .and_then(|(name, number)| Some((name.to_string(), number.parse().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("misnamed registry document {key}"))?;
            state.layer_policies.insert((name, number), policy);
        }
        for (name, record) in &state.functions {
            for (qualifier, url) in &record.url_configs {
                state
                    .urls
                    .insert(url.url_id.clone(), (name.clone(), qualifier.clone()));
            }
        }
        let runtimes = runtimes::store_images(store.as_ref(), &config.region, config.runtimes).await?;
        let unsettled = lifecycle::unsettled_jobs(state.functions.values());
        let (jobs, receiver) = tokio::sync::mpsc::unbounded_channel();
        let registry = Arc::new(Registry {
            store,
            buckets: config.buckets,
            opt_root: config.opt_root,
            task_root: config.task_root,
            runtimes,
            hot_reload: config.hot_reload,
            runtime_version_arn: config.runtime_version_arn,
            jobs,
            region: config.region,
            account_id: config.account_id,
            account_concurrency: config.account_concurrency,
            limits: config.limits,
            state: RwLock::new(state),
            writers: Mutex::default(),
            budget_writer: tokio::sync::Mutex::new(()),
            layer_writer: tokio::sync::Mutex::new(()),
            csc_writer: tokio::sync::Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
            refresh_every: config.refresh_every,
            stamp: std::sync::atomic::AtomicU64::new(0),
        });
        Registry::watch(&registry);
        // Activations and snapshots a crash interrupted are done again.
        for job in unsettled {
            registry.schedule(job);
        }
        Ok((registry, receiver))
    }

    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    pub fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account_id
        )
    }

    /// The one runtime version this host provides: lambkin's guest ABI + engine.
    pub fn runtime_version_arn(&self) -> String {
        self.runtime_version_arn.clone()
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The component bytes stored under `sha256`.
    pub async fn code(&self, sha256: &str) -> Result<Bytes, RegistryError> {
        let path = StorePath::from(format!("code/{sha256}.wasm"));
        let object = self.store.get(&path).await.map_err(store_error)?;
        object.bytes().await.map_err(store_error)
    }

    /// `Code.S3Bucket`/`S3Key`: the object `<bucket>/<key>` of the buckets store.
    pub(crate) async fn s3_object(&self, bucket: &str, key: &str) -> Result<Bytes, RegistryError> {
        let fetched = match &self.buckets {
            Buckets::Local(store) => store.get(&StorePath::from(format!("{bucket}/{key}"))).await,
            Buckets::S3 => {
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| RegistryError::Invalid(format!("S3 bucket {bucket}: {e}")))?;
                s3.get(&StorePath::from(key)).await
            }
        };
        let object = fetched.map_err(|e| match e {
            object_store::Error::NotFound { .. } => RegistryError::Invalid(format!(
                "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist. (bucket {bucket}, key {key})"
            )),
            other => store_error(other),
        })?;
        object.bytes().await.map_err(store_error)
    }

    /// Stores `document` as JSON at `key`, or (with `None`) deletes what is there.
    pub(crate) async fn put_document<T: serde::Serialize>(
        &self,
        key: &StorePath,
        document: Option<&T>,
    ) -> Result<(), RegistryError> {
        match document {
            Some(document) => {
                let json =
                    serde_json::to_vec_pretty(document).map_err(|e| RegistryError::Storage(e.to_string()))?;
                self.store
                    .put(key, PutPayload::from(json))
                    .await
                    .map_err(store_error)?;
            }
            None => match self.store.delete(key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            },
        }
        Ok(())
    }

    /// Stores code (a component or a snapshot) under its hash.
    pub async fn put_code(&self, sha256: &str, wasm: Vec<u8>) -> Result<(), RegistryError> {
        let path = StorePath::from(format!("code/{sha256}.wasm"));
        self.store
            .put(&path, PutPayload::from(wasm))
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Whether `version` ($LATEST or a number) of function `name` exists.
    pub fn has_version(&self, name: &str, version: &str) -> bool {
        let state = self.read();
        let Some(record) = state.functions.get(name) else {
            return false;
        };
        version == "$LATEST"
            || version
                .parse::<u64>()
                .is_ok_and(|number| record.versions.contains_key(&number))
    }

    /// Changes each time any function's record may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The in-memory state, for a lookup (never held across an `.await`). A panic while it
    /// was held leaves it as it was before that one insert or removal, so a poisoned lock is
    /// taken as it is.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the write lock of function `name` (made on first use).
    async fn writer(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
            writers.entry(name.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// A copy of the record of `name`, to change and [`Registry::commit`].
    fn stored(&self, name: &str) -> Result<FunctionRecord, RegistryError> {
        self.record(&self.read().functions, name).cloned()
    }

    /// Applies `change` to a copy of the stored record of `name` under its writer lock, then
    /// persists and commits it; nothing changes when `change` fails.
    async fn change<T>(
        &self,
        name: &str,
        change: impl FnOnce(&mut FunctionRecord) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let changed = change(&mut record)?;
        self.persist(&record).await?;
        self.commit(record);
        Ok(changed)
    }

    /// Makes a stored record the current one (after [`Registry::persist`] stored it).
    fn commit(&self, record: FunctionRecord) {
        let name = record.latest.configuration.function_name.clone();
        self.write().functions.insert(name, record);
        self.bump_generation();
    }

    /// Removes a function's record (after [`Registry::forget`]).
    fn remove(&self, name: &str) {
        self.write().functions.remove(name);
        self.bump_generation();
    }

    /// Called after every change to a function's record is visible.
    fn bump_generation(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    async fn persist_counter(&self, name: &str, last: u64) -> Result<(), RegistryError> {
        let path = StorePath::from(format!("counters/{name}.json"));
        self.store
            .put(&path, PutPayload::from(last.to_string().into_bytes()))
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Applies `change` to the stored record of `function` and persists it if `change` says
    /// it changed anything. A function since deleted is left alone.
    /// Tried again on the fresh record when another node's write won the race.
    pub(crate) async fn update_record(
        &self,
        function: &str,
        mut change: impl FnMut(&mut FunctionRecord) -> bool,
    ) -> Result<(), RegistryError> {
        let mut attempt = 1;
        loop {
            let _writer = self.writer(function).await;
            let Ok(mut record) = self.stored(function) else {
                return Ok(());
            };
            if !change(&mut record) {
                return Ok(());
            }
            match self.persist(&record).await {
                Ok(()) => {
                    self.commit(record);
                    return Ok(());
                }
                Err(RegistryError::Raced(_)) if attempt < shared::ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Every JSON document under `prefix`, with its key.
async fn read_all(store: &dyn ObjectStore, prefix: &str) -> anyhow::Result<Vec<(String, Bytes)>> {
    let documents = read_all_tagged(store, prefix).await?;
    Ok(documents
        .into_iter()
        .map(|(key, _, bytes)| (key, bytes))
        .collect())
}

/// Every JSON document under `prefix`, with its key and the ETag of the copy read.
async fn read_all_tagged(
    store: &dyn ObjectStore,
    prefix: &str,
) -> anyhow::Result<Vec<(String, Option<String>, Bytes)>> {
    let prefix = StorePath::from(prefix);
    let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    let mut out = Vec::with_capacity(metas.len());
    for meta in metas
        .into_iter()
        .filter(|m| m.location.as_ref().ends_with(".json"))
    {
        let fetched = store.get(&meta.location).await?;
        let e_tag = fetched.meta.e_tag.clone();
        out.push((meta.location.to_string(), e_tag, fetched.bytes().await?));
    }
    Ok(out)
}

/// `counters/<name>.json` → `<name>`.
fn document_name(key: &str, prefix: &str) -> String {
    key.trim_start_matches(prefix)
        .trim_end_matches(".json")
        .to_string()
}

fn counter(key: &str, bytes: &[u8]) -> anyhow::Result<u64> {
    serde_json::from_slice(bytes).map_err(|e| anyhow::anyhow!("corrupt registry document {key}: {e}"))
}

fn store_error(e: object_store::Error) -> RegistryError {
    RegistryError::from(e)
}

/// A fresh RevisionId: it changes on every write.
fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// ISO 8601 in UTC with milliseconds: `2019-11-14T18:16:05.568Z`.
pub fn iso_timestamp() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// Lambda's LastModified format: `2015-07-16T00:34:31.322+0000`.
fn now_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}
