//! EphemeralStorage: a cap on the bytes in an environment's `/tmp`.
//!
//! wasmtime-wasi writes files straight to the host directory, so the cap is enforced where the
//! guest's writes enter the host: the four `wasi:filesystem` functions that add bytes to a file
//! (`write`, `write-via-stream`, `append-via-stream`, `set-size`) are shadowed by versions that
//! reserve the bytes first. A write past the cap fails inside the guest and the host and the other
//! environments are unaffected. The guest sees ENOSPC ("No space left on device") from `pwrite`,
//! `ftruncate` and from the first write to a file once `/tmp` is full; a write that crosses the cap
//! through an already open stream fails with EIO, because wasi-libc reports every failed stream
//! write as EIO whatever the host says.

use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::{DynOutputStream, FsResult, OutputStream, Pollable, StreamError};

use super::EnvState;

/// The WASI filesystem interface whose write functions are shadowed (wasmtime-wasi 48's version;
/// guests importing any 0.2.x are linked to it).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Bytes an environment may keep in its `/tmp`.
#[derive(Clone)]
pub struct TmpQuota {
    inner: Arc<QuotaInner>,
}

struct QuotaInner {
    dir: PathBuf,
    limit: u64,
    /// Set before the guest may add an entry to its `/tmp` (shared with the directory, whose
    /// recycler empties only what was touched).
    touched: Arc<AtomicBool>,
    /// Bytes counted as used: the directory's size when last measured plus every write since.
    /// Overwrites are counted again, so this only errs high; it is re-measured before refusing.
    used: Mutex<u64>,
}

impl TmpQuota {
    pub fn new(dir: PathBuf, limit: u64, touched: Arc<AtomicBool>) -> TmpQuota {
        TmpQuota {
            inner: Arc::new(QuotaInner {
                dir,
                limit,
                touched,
                used: Mutex::new(0),
            }),
        }
    }

    /// The guest is about to do something that may add an entry to its `/tmp`.
    fn touch(&self) {
        self.inner.touched.store(true, Ordering::Relaxed);
    }

    /// Whether another byte would fit.
    pub fn has_room(&self) -> bool {
        let q = &self.inner;
        let mut used = q.used.lock().unwrap_or_else(|p| p.into_inner());
        if *used >= q.limit {
            *used = directory_size(&q.dir);
        }
        *used < q.limit
    }

    /// Counts `bytes` as written if they fit under the cap.
    pub fn reserve(&self, bytes: u64) -> bool {
        let q = &self.inner;
        let mut used = q.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.saturating_add(bytes) > q.limit {
            *used = directory_size(&q.dir);
        }
        if used.saturating_add(bytes) > q.limit {
            return false;
        }
        *used += bytes;
        true
    }
}

/// Apparent size of every file under `dir` (symlinks are not followed).
fn directory_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => directory_size(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn no_space() -> StreamError {
    StreamError::LastOperationFailed(std::io::Error::from_raw_os_error(28 /* ENOSPC */).into())
}

/// A file's output stream whose writes are counted against the quota.
struct QuotaStream {
    inner: DynOutputStream,
    quota: TmpQuota,
}

impl OutputStream for QuotaStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if !self.quota.reserve(bytes.len() as u64) {
            return Err(no_space());
        }
        self.inner.write(bytes)
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        self.inner.flush()
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        self.inner.check_write()
    }
}

#[async_trait::async_trait]
impl Pollable for QuotaStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

type WitResult<T> = wasmtime::Result<(Result<T, ErrorCode>,)>;

/// Installs the quota-checking write functions over wasmtime-wasi's.
pub fn add_to_linker(linker: &mut Linker<EnvState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FILESYSTEM_TYPES)?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store: StoreContextMut<'_, EnvState>, (fd, offset): (Resource<Descriptor>, u64)| {
            let stream = HostDescriptor::write_via_stream(&mut store.data_mut().filesystem(), fd, offset);
            wrap_stream(store.data_mut(), stream)
        },
    )?;
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store: StoreContextMut<'_, EnvState>, (fd,): (Resource<Descriptor>,)| {
            let stream = HostDescriptor::append_via_stream(&mut store.data_mut().filesystem(), fd);
            wrap_stream(store.data_mut(), stream)
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.write",
        |mut store: StoreContextMut<'_, EnvState>,
         (fd, buffer, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                if !store.data().tmp_quota.reserve(buffer.len() as u64) {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
                }
                let written =
                    HostDescriptor::write(&mut store.data_mut().filesystem(), fd, buffer, offset).await;
                wit_result(written)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.set-size",
        |mut store: StoreContextMut<'_, EnvState>, (fd, size): (Resource<Descriptor>, u64)| {
            Box::new(async move {
                let probe = Resource::<Descriptor>::new_borrow(fd.rep());
                let current = HostDescriptor::stat(&mut store.data_mut().filesystem(), probe)
                    .await
                    .map(|s| s.size)
                    .unwrap_or(0);
                if !store.data().tmp_quota.reserve(size.saturating_sub(current)) {
                    return Ok((Err(ErrorCode::InsufficientSpace),));
                }
                let resized = HostDescriptor::set_size(&mut store.data_mut().filesystem(), fd, size).await;
                wit_result(resized)
            })
        },
    )?;
    // The only ways an entry appears in a directory: created files, directories, symlinks and
    // hard links. Each marks `/tmp` as touched first.
    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store: StoreContextMut<'_, EnvState>,
         (fd, path_flags, path, open_flags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                if open_flags.contains(OpenFlags::CREATE) {
                    store.data().tmp_quota.touch();
                }
                let opened = HostDescriptor::open_at(
                    &mut store.data_mut().filesystem(),
                    fd,
                    path_flags,
                    path,
                    open_flags,
                    flags,
                )
                .await;
                wit_result(opened)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.create-directory-at",
        |mut store: StoreContextMut<'_, EnvState>, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                store.data().tmp_quota.touch();
                let created =
                    HostDescriptor::create_directory_at(&mut store.data_mut().filesystem(), fd, path).await;
                wit_result(created)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store: StoreContextMut<'_, EnvState>, (fd, old, new): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                store.data().tmp_quota.touch();
                let linked =
                    HostDescriptor::symlink_at(&mut store.data_mut().filesystem(), fd, old, new).await;
                wit_result(linked)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.link-at",
        |mut store: StoreContextMut<'_, EnvState>,
         (fd, old_flags, old, new_fd, new): (
            Resource<Descriptor>,
            PathFlags,
            String,
            Resource<Descriptor>,
            String,
        )| {
            Box::new(async move {
                store.data().tmp_quota.touch();
                let linked = HostDescriptor::link_at(
                    &mut store.data_mut().filesystem(),
                    fd,
                    old_flags,
                    old,
                    new_fd,
                    new,
                )
                .await;
                wit_result(linked)
            })
        },
    )?;
    Ok(())
}

fn wrap_stream(
    state: &mut EnvState,
    stream: FsResult<Resource<DynOutputStream>>,
) -> WitResult<Resource<DynOutputStream>> {
    match stream {
        Ok(handle) if !state.tmp_quota.has_room() => {
            state.table.delete(handle)?;
            Ok((Err(ErrorCode::InsufficientSpace),))
        }
        Ok(handle) => {
            let inner = state.table.delete(handle)?;
            let wrapped: DynOutputStream = Box::new(QuotaStream {
                inner,
                quota: state.tmp_quota.clone(),
            });
            Ok((Ok(state.table.push(wrapped)?),))
        }
        Err(e) => Ok((Err(e.downcast()?),)),
    }
}

fn wit_result<T>(result: FsResult<T>) -> WitResult<T> {
    match result {
        Ok(value) => Ok((Ok(value),)),
        Err(e) => Ok((Err(e.downcast()?),)),
    }
}
