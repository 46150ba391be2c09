//! The host directories behind the environments' `/tmp`.
//!
//! Creating and removing a directory costs an ext4 inode each way (~100 µs together, most of a
//! cold start), so directories are recycled: a dropped environment's directory goes to a
//! background thread that empties it and puts it back on the spare list, and a new environment
//! takes a spare. A directory is only ever handed out empty, so nothing crosses environments.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

/// Empty directories kept ready; more than this are removed instead.
const MAX_SPARES: usize = 256;

#[derive(Clone)]
pub struct TmpDirPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    root: PathBuf,
    /// Empty directories ready to be handed out.
    spares: Arc<Mutex<Vec<PathBuf>>>,
    /// Numbers new directories (`env-<n>`) so names never collide within the root.
    next_id: AtomicU64,
    /// To the recycler thread: directories of environments that are gone.
    recycle: Mutex<Sender<PathBuf>>,
}

/// One environment's `/tmp` on the host; recycled when dropped.
pub struct TmpDir {
    path: PathBuf,
    pool: TmpDirPool,
}

impl TmpDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let sender = self.pool.inner.recycle.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(returned) = sender.send(path) {
            // The recycler is gone (process shutting down): clean up here.
            let _ = std::fs::remove_dir_all(returned.0);
        }
    }
}

impl TmpDirPool {
    pub fn new(root: PathBuf) -> std::io::Result<TmpDirPool> {
        std::fs::create_dir_all(&root)?;
        let spares = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = channel::<PathBuf>();
        let recycler_spares = spares.clone();
        std::thread::Builder::new()
            .name("lambkin-tmp-recycler".into())
            .spawn(move || {
                for dir in receiver {
                    let reusable = empty_directory(&dir).is_ok();
                    let mut spares = recycler_spares.lock().unwrap_or_else(|p| p.into_inner());
                    if reusable && spares.len() < MAX_SPARES {
                        spares.push(dir);
                    } else {
                        drop(spares);
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                }
            })?;
        Ok(TmpDirPool {
            inner: Arc::new(PoolInner {
                root,
                spares,
                next_id: AtomicU64::new(0),
                recycle: Mutex::new(sender),
            }),
        })
    }

    /// An empty directory for a new environment.
    pub fn take(&self) -> std::io::Result<TmpDir> {
        let spare = self.inner.spares.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let path = match spare {
            Some(path) => path,
            None => {
                let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
                let path = self.inner.root.join(format!("env-{id}"));
                std::fs::create_dir(&path)?;
                path
            }
        };
        Ok(TmpDir {
            path,
            pool: self.clone(),
        })
    }
}

/// Removes everything inside `dir`, keeping `dir` itself. Symlinks are removed, not followed.
fn empty_directory(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_directory_comes_back_empty() {
        let root = tempfile::tempdir().expect("tempdir");
        let pool = TmpDirPool::new(root.path().join("envs")).expect("pool");
        let first = pool.take().expect("dir");
        let path = first.path().to_path_buf();
        std::fs::create_dir(path.join("sub")).expect("mkdir");
        std::fs::write(path.join("sub/file"), b"secret").expect("write");
        std::fs::write(path.join("top"), b"secret").expect("write");
        drop(first);
        // The recycler works in the background: wait until the directory is a spare again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while pool.inner.spares.lock().expect("lock").is_empty() {
            assert!(std::time::Instant::now() < deadline, "never recycled");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let again = pool.take().expect("dir");
        assert_eq!(again.path(), path, "the spare is reused");
        assert_eq!(
            std::fs::read_dir(again.path()).expect("read").count(),
            0,
            "and empty"
        );
    }
}
