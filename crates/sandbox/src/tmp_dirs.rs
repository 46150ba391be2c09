//! The host directories behind the environments' `/tmp`.
//!
//! Creating and removing a directory costs an ext4 inode each way (~100 µs together, most of a
//! cold start), so directories are recycled. A dropped environment's directory goes straight
//! back on the spare list if its environment never created anything in `/tmp` (the quota's
//! shadowed filesystem calls mark it "touched" before any file, directory or link can appear);
//! otherwise it goes on a list that a background thread empties every few milliseconds, cleaning
//! each directory and putting it back on the spare list. A new environment takes a spare. Nothing
//! on the request path makes a syscall or wakes a thread. A directory is only ever handed out
//! empty, so nothing crosses environments.
//!
//! A sandbox's default root is named after its process (`lambkin-environments-<pid>-…`): one
//! killed before it could remove its root leaves it behind, and the next sandbox removes the
//! roots of processes that are gone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Empty directories kept ready; more than this are removed instead.
const MAX_SPARES: usize = 256;
/// Spares the recycler keeps in stock, creating directories ahead of demand.
const MIN_SPARES: usize = 16;
/// How often the recycler looks at the returned directories.
const RECYCLE_INTERVAL: Duration = Duration::from_millis(10);
/// New directories are spread over this many parents: a mkdir holds its parent's inode lock, so
/// cold starts on several threads creating directories in one parent would queue behind it.
const SHARDS: u64 = 16;

#[derive(Clone)]
pub struct TmpDirPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    shared: Arc<Shared>,
    /// Stops the recycler when the pool (and so every directory) is gone.
    stop: Arc<AtomicBool>,
}

/// What the pool and its recycler thread share.
struct Shared {
    root: PathBuf,
    /// Empty directories ready to be handed out.
    spares: Mutex<Vec<PathBuf>>,
    /// Directories of environments that are gone and may hold something, waiting to be emptied.
    returned: Mutex<Vec<PathBuf>>,
    /// Numbers new directories (`env-<n>`) so names never collide within the root.
    next_id: AtomicU64,
}

/// One environment's `/tmp` on the host; recycled when dropped.
pub struct TmpDir {
    path: PathBuf,
    pool: TmpDirPool,
    /// Set (by the `/tmp` quota's shadowed filesystem calls) before anything may have been put
    /// in the directory; one never touched is still empty and skips the clean-up.
    touched: Arc<AtomicBool>,
}

impl TmpDir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mark the environment's filesystem calls set.
    pub fn touched(&self) -> Arc<AtomicBool> {
        self.touched.clone()
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let shared = &self.pool.inner.shared;
        // Untouched, it is as empty as when it was handed out: a spare again at once.
        if !self.touched.load(Ordering::Relaxed) {
            let mut spares = lock(&shared.spares);
            if spares.len() < MAX_SPARES {
                spares.push(path);
                return;
            }
        }
        lock(&shared.returned).push(path);
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn create(&self) -> std::io::Result<PathBuf> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let path = self
            .root
            .join(format!("{:x}", id % SHARDS))
            .join(format!("env-{id}"));
        std::fs::create_dir(&path)?;
        Ok(path)
    }

    /// One round of the recycler: clean what came back, keep the spare stock up.
    fn recycle(&self) {
        let returned = std::mem::take(&mut *lock(&self.returned));
        for dir in returned {
            let clean = empty_directory(&dir).is_ok();
            let mut spares = lock(&self.spares);
            if clean && spares.len() < MAX_SPARES {
                spares.push(dir);
            } else {
                drop(spares);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        while lock(&self.spares).len() < MIN_SPARES {
            match self.create() {
                Ok(dir) => lock(&self.spares).push(dir),
                Err(_) => break,
            }
        }
    }
}

impl TmpDirPool {
    pub fn new(root: PathBuf) -> std::io::Result<TmpDirPool> {
        for shard in 0..SHARDS {
            std::fs::create_dir_all(root.join(format!("{shard:x}")))?;
        }
        let shared = Arc::new(Shared {
            root,
            spares: Mutex::new(Vec::new()),
            returned: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        });
        shared.recycle();
        let stop = Arc::new(AtomicBool::new(false));
        let (worker, stopped) = (shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name("lambkin-tmp-recycler".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(RECYCLE_INTERVAL);
                    worker.recycle();
                }
                // The pool is gone: nothing will be handed out again.
                let returned: Vec<PathBuf> = lock(&worker.returned).drain(..).collect();
                for dir in lock(&worker.spares).drain(..).chain(returned) {
                    let _ = std::fs::remove_dir_all(dir);
                }
            })?;
        Ok(TmpDirPool {
            inner: Arc::new(PoolInner { shared, stop }),
        })
    }

    /// An empty directory for a new environment.
    pub fn take(&self) -> std::io::Result<TmpDir> {
        let shared = &self.inner.shared;
        let spare = lock(&shared.spares).pop();
        let path = match spare {
            Some(path) => path,
            None => shared.create()?,
        };
        Ok(TmpDir {
            path,
            pool: self.clone(),
            touched: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// What names a default root, before its owner's pid.
const DEFAULT_ROOT: &str = "lambkin-environments-";

/// The prefix of this process's default root in the system's temporary directory.
pub fn default_root_prefix() -> String {
    format!("{DEFAULT_ROOT}{}-", std::process::id())
}

/// Removes the default roots in `parent` whose process is gone (no `/proc/<pid>`); returns
/// how many. Best effort: a root that cannot be read or removed is left for the next time.
pub fn remove_orphan_roots(parent: &Path) -> usize {
    // Without /proc every owner would look dead.
    if !Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir
            && !Path::new(&format!("/proc/{pid}")).exists()
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, parent = %parent.display(), "removed environments directories of dead processes");
    }
    removed
}

/// The pid in a default root's name (`lambkin-environments-<pid>-<random>`).
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(DEFAULT_ROOT)?.split_once('-')?;
    pid.parse().ok()
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
        // Use up the stock so that the next spare can only be a recycled directory.
        let stock: Vec<TmpDir> = (0..MIN_SPARES).map(|_| pool.take().expect("dir")).collect();
        let first = pool.take().expect("dir");
        first.touched().store(true, Ordering::Relaxed);
        let path = first.path().to_path_buf();
        std::fs::create_dir(path.join("sub")).expect("mkdir");
        std::fs::write(path.join("sub/file"), b"secret").expect("write");
        std::fs::write(path.join("top"), b"secret").expect("write");
        drop(first);
        // The recycler works in the background: wait until the directory is a spare again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !lock(&pool.inner.shared.spares).contains(&path) {
            assert!(std::time::Instant::now() < deadline, "never recycled");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(
            std::fs::read_dir(&path).expect("read").count(),
            0,
            "recycled empty"
        );
        drop(stock);
    }

    #[test]
    fn orphan_roots_of_dead_processes_are_removed_and_live_ones_kept() {
        let parent = tempfile::tempdir().expect("tempdir");
        // A pid above the kernel's maximum (2^22) is never alive.
        let dead = parent.path().join(format!("{DEFAULT_ROOT}4999999-abc"));
        let mine = parent.path().join(format!("{}xyz", default_root_prefix()));
        let other = parent.path().join("lambkin-environments-legacy");
        for dir in [&dead, &mine, &other] {
            std::fs::create_dir_all(dir.join("0/env-0")).expect("mkdir");
        }
        assert_eq!(remove_orphan_roots(parent.path()), 1);
        assert!(!dead.exists(), "a dead process's root is removed");
        assert!(mine.exists(), "a live process's root is kept");
        assert!(other.exists(), "a root of no known owner is kept");
    }
}
