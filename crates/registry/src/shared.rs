//! A registry shared by several nodes on one S3 store.
//!
//! Each function stays one document, `functions/<name>.json`. A node remembers the ETag of the
//! document it last read or wrote, and writes it back only if the store still holds that ETag
//! (`PutMode::Update`; a new function with `PutMode::Create`). When another node wrote in
//! between, the write fails, the node reads the document again and the operation is refused
//! with ResourceConflictException ([`RegistryError::Raced`]) — or, where Lambda's semantics
//! allow it (PublishVersion, UpdateFunctionConfiguration), done again on the fresh record.
//! Nothing another node acknowledged is overwritten, so there is no lost update, and a version
//! number is only ever taken by the write that stored it.
//!
//! Every [`REFRESH_EVERY`] each node lists `functions/` and reads the documents whose ETag
//! changed (and drops those gone): another node's writes are visible within that bound plus
//! one listing, and the generation moves so that routes and pools are looked up again.
//!
//! A local store (`file://`) belongs to one node: its writes are serialised in the process and
//! it is neither compared nor refreshed.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutMode, PutPayload, UpdateVersion};

use crate::{FunctionRecord, Registry, RegistryError, store_error};

/// How often a node on a shared store reads the other nodes' writes.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// How many times an operation that may be done again is tried when other nodes keep winning.
pub(crate) const ATTEMPTS: usize = 8;

/// What a node knows of a function's document on the shared store.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// The ETag of the document this node last read or wrote.
    e_tag: Option<String>,
    /// When this node learnt it, on its own clock of changes ([`Registry::next_stamp`]): a
    /// listing begun before that stamp may show an older document and is not applied to it.
    stamp: u64,
}

impl Known {
    /// What a node read when it opened the registry.
    pub(crate) fn at_open(e_tag: Option<String>) -> Known {
        Known { e_tag, stamp: 0 }
    }
}

fn function_path(name: &str) -> StorePath {
    StorePath::from(format!("functions/{name}.json"))
}

impl Registry {
    /// Whether this registry is shared with other nodes (its writes are compared).
    pub fn is_shared(&self) -> bool {
        self.refresh_every.is_some()
    }

    fn next_stamp(&self) -> u64 {
        self.stamp.fetch_add(1, Ordering::AcqRel) + 1
    }

    fn learn(&self, name: &str, e_tag: Option<String>) {
        let stamp = self.next_stamp();
        self.write()
            .known
            .insert(name.to_string(), Known { e_tag, stamp });
    }

    /// Stores a function's record: compared with what this node last saw when shared.
    pub(crate) async fn persist(&self, record: &FunctionRecord) -> Result<(), RegistryError> {
        let name = &record.latest.configuration.function_name;
        let json = serde_json::to_vec_pretty(record).map_err(|e| RegistryError::Storage(e.to_string()))?;
        let path = function_path(name);
        if !self.is_shared() {
            self.store
                .put(&path, PutPayload::from(json))
                .await
                .map_err(store_error)?;
            return Ok(());
        }
        let known = self.read().known.get(name).map(|k| k.e_tag.clone());
        let mode = match known {
            Some(e_tag) => PutMode::Update(UpdateVersion { e_tag, version: None }),
            None => PutMode::Create,
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(json), mode.into())
            .await
        {
            Ok(stored) => {
                self.learn(name, stored.e_tag);
                Ok(())
            }
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                self.reload(name).await?;
                Err(RegistryError::Raced(format!(
                    "The function {name} was changed by another request at the same time; \
                     get its configuration again and retry"
                )))
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// Deletes a function's record. A delete is not compared: it wins over a concurrent change.
    pub(crate) async fn forget(&self, name: &str) -> Result<(), RegistryError> {
        match self.store.delete(&function_path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error(e)),
        }
        if self.is_shared() {
            self.write().known.remove(name);
        }
        Ok(())
    }

    /// On a shared store, reads the document of `name` again (the caller holds its write lock).
    pub(crate) async fn read_again(&self, name: &str) -> Result<(), RegistryError> {
        if self.is_shared() {
            self.reload(name).await?;
        }
        Ok(())
    }

    /// Reads the document of `name` again and makes it the current record (or removes the
    /// function when the document is gone). The caller holds the function's write lock.
    async fn reload(&self, name: &str) -> Result<(), RegistryError> {
        let fetched = match self.store.get(&function_path(name)).await {
            Ok(fetched) => fetched,
            Err(object_store::Error::NotFound { .. }) => {
                self.write().known.remove(name);
                if self.read().functions.contains_key(name) {
                    self.remove(name);
                }
                return Ok(());
            }
            Err(e) => return Err(store_error(e)),
        };
        let e_tag = fetched.meta.e_tag.clone();
        let unchanged = e_tag.is_some()
            && self
                .read()
                .known
                .get(name)
                .is_some_and(|known| known.e_tag == e_tag)
            && self.read().functions.contains_key(name);
        if unchanged {
            return Ok(());
        }
        tracing::debug!(function = name, ?e_tag, "read again from the shared store");
        let bytes = fetched.bytes().await.map_err(store_error)?;
        let record: FunctionRecord = serde_json::from_slice(&bytes)
            .map_err(|e| RegistryError::Storage(format!("corrupt registry document for {name}: {e}")))?;
        self.learn(name, e_tag);
        {
            let mut state = self.write();
            for (qualifier, url) in &record.url_configs {
                state
                    .urls
                    .insert(url.url_id.clone(), (name.to_string(), qualifier.clone()));
            }
        }
        self.commit(record);
        Ok(())
    }

    /// The last version number ever published under `name`: on a shared store, read from the
    /// store, since another node may have published (and deleted) since.
    pub(crate) async fn last_version_number(&self, name: &str) -> Result<u64, RegistryError> {
        let known = self.read().counters.get(name).copied().unwrap_or(0);
        if !self.is_shared() {
            return Ok(known);
        }
        let path = StorePath::from(format!("counters/{name}.json"));
        let stored = match self.store.get(&path).await {
            Ok(fetched) => {
                let bytes = fetched.bytes().await.map_err(store_error)?;
                serde_json::from_slice::<u64>(&bytes)
                    .map_err(|e| RegistryError::Storage(format!("corrupt version counter of {name}: {e}")))?
            }
            Err(object_store::Error::NotFound { .. }) => 0,
            Err(e) => return Err(store_error(e)),
        };
        Ok(known.max(stored))
    }

    /// Runs `operation` again (up to a few times) while it loses races against other nodes.
    pub(crate) async fn retrying<T, F>(&self, mut operation: impl FnMut() -> F) -> Result<T, RegistryError>
    where
        F: Future<Output = Result<T, RegistryError>>,
    {
        let mut attempt = 1;
        loop {
            match operation().await {
                Err(RegistryError::Raced(_)) if attempt < ATTEMPTS => attempt += 1,
                done => return done,
            }
        }
    }

    /// Reads the other nodes' writes every [`REFRESH_EVERY`] until the registry is dropped.
    pub(crate) fn watch(registry: &Arc<Registry>) {
        let Some(every) = registry.refresh_every else {
            return;
        };
        let weak: Weak<Registry> = Arc::downgrade(registry);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(registry) = weak.upgrade() else { return };
                if let Err(e) = registry.refresh().await {
                    tracing::warn!("reading the shared registry: {e}");
                }
            }
        });
    }

    /// One pass: the functions whose document changed since this node last saw it are read
    /// again, those whose document is gone are removed.
    pub async fn refresh(&self) -> Result<(), RegistryError> {
        let began = self.next_stamp();
        let listed: HashMap<String, Option<String>> = self
            .store
            .list(Some(&StorePath::from("functions")))
            .try_filter_map(|meta| async move {
                let key = meta.location.as_ref();
                let name = key
                    .strip_prefix("functions/")
                    .and_then(|rest| rest.strip_suffix(".json"))
                    .filter(|name| !name.contains('/'));
                Ok(name.map(|name| (name.to_string(), meta.e_tag)))
            })
            .try_collect()
            .await
            .map_err(store_error)?;
        let stale: Vec<String> = {
            let state = self.read();
            let changed = listed
                .iter()
                .filter(|(name, e_tag)| match state.known.get(*name) {
                    Some(known) => known.stamp < began && known.e_tag != **e_tag,
                    None => true,
                });
            let gone = state
                .known
                .iter()
                .filter(|(name, known)| known.stamp < began && !listed.contains_key(*name));
            changed
                .map(|(name, _)| name)
                .chain(gone.map(|(name, _)| name))
                .cloned()
                .collect()
        };
        for name in stale {
            let _writer = self.writer(&name).await;
            // A write of this node since the listing began knows better than the listing.
            let newer = self.read().known.get(&name).is_some_and(|k| k.stamp >= began);
            if !newer {
                self.reload(&name).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
