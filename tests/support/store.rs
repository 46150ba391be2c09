//! An object store that misbehaves on purpose, for the tests of what lambkin does when its
//! store is slow or fails: a real `LocalFileSystem` whose puts under one key prefix are delayed
//! or refused while armed.

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What a put under the prefix meets while the store is armed.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// It takes this long, then succeeds.
    Slow(Duration),
    /// It fails with this message (as a local store's I/O error would read).
    Fail(&'static str),
}

#[derive(Debug)]
pub struct FaultyStore {
    pub inner: LocalFileSystem,
    pub key_prefix: String,
    pub armed: Arc<AtomicBool>,
    pub fault: Fault,
}

impl std::fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if self.armed.load(Ordering::SeqCst) && location.as_ref().starts_with(&self.key_prefix) {
            match self.fault {
                Fault::Slow(delay) => tokio::time::sleep(delay).await,
                Fault::Fail(message) => {
                    return Err(object_store::Error::Generic {
                        store: "FaultyStore",
                        source: message.into(),
                    });
                }
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &StorePath, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<StorePath>>,
    ) -> BoxStream<'static, object_store::Result<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&StorePath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&StorePath>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
