//! Hot reload: a function whose code is a local path runs the path as it is now. Each route
//! remembers a fingerprint of the tree its revision was prepared from (every file's relative
//! path, size and modification time); an invocation that finds the tree changed prepares the
//! revision again, so a saved edit takes effect on the next invocation, in new environments.
//!
//! The fingerprint is read on every invocation of such a function: a walk of the tree, cheap
//! for a function's sources, and a local-development feature only.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::InvokeError;

/// Directories whose changes are not the code's: bytecode caches and version control.
const IGNORED: &[&str] = &["__pycache__", ".git"];

/// A hot-reloaded path and the fingerprint of what it held when it was read.
#[derive(Debug, Clone)]
pub struct Watched {
    pub path: PathBuf,
    pub fingerprint: u64,
}

impl Watched {
    /// Reads `path`'s fingerprint now.
    pub async fn read(path: &Path) -> Result<Watched, InvokeError> {
        let owned = path.to_path_buf();
        let fingerprint = tokio::task::spawn_blocking(move || fingerprint(&owned))
            .await
            .map_err(|e| InvokeError::Internal(format!("reading hot-reload code: {e}")))?
            .map_err(|e| {
                InvokeError::Unrunnable(format!(
                    "Cannot read the hot-reload code at {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Watched {
            path: path.to_path_buf(),
            fingerprint,
        })
    }

    /// Whether the path holds something else now (or can no longer be read).
    pub async fn changed(&self) -> bool {
        match Watched::read(&self.path).await {
            Ok(now) => now.fingerprint != self.fingerprint,
            Err(_) => true,
        }
    }
}

/// A hash of every file under `root` (or of `root`, a file): relative path, size, mtime.
pub fn fingerprint(root: &Path) -> std::io::Result<u64> {
    let mut entries = Vec::new();
    collect(root, Path::new(""), &mut entries)?;
    entries.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    entries.hash(&mut hasher);
    Ok(hasher.finish())
}

fn collect(path: &Path, relative: &Path, out: &mut Vec<(PathBuf, u64, u128)>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        let modified = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        out.push((relative.to_path_buf(), meta.len(), modified));
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        if IGNORED.iter().any(|ignored| name == *ignored) {
            continue;
        }
        // A link to a directory is not followed: the sandbox does not follow it either.
        if entry.file_type()?.is_symlink() && entry.path().is_dir() {
            continue;
        }
        collect(&entry.path(), &relative.join(&name), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_a_new_file_or_a_removal_changes_the_fingerprint_and_caches_do_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "x = 1\n").unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/mod.py"), "y = 2\n").unwrap();
        let first = fingerprint(dir.path()).unwrap();
        assert_eq!(first, fingerprint(dir.path()).unwrap());

        std::fs::create_dir(dir.path().join("__pycache__")).unwrap();
        std::fs::write(dir.path().join("__pycache__/app.pyc"), "cache").unwrap();
        assert_eq!(
            first,
            fingerprint(dir.path()).unwrap(),
            "a bytecode cache is not an edit"
        );

        std::fs::write(dir.path().join("pkg/mod.py"), "y = 22\n").unwrap();
        let edited = fingerprint(dir.path()).unwrap();
        assert_ne!(first, edited);

        std::fs::write(dir.path().join("pkg/new.py"), "").unwrap();
        let added = fingerprint(dir.path()).unwrap();
        assert_ne!(edited, added);

        std::fs::remove_file(dir.path().join("pkg/new.py")).unwrap();
        assert_eq!(edited, fingerprint(dir.path()).unwrap());
    }

    #[test]
    fn a_file_is_its_own_tree() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("function.wasm");
        std::fs::write(&file, b"one").unwrap();
        let first = fingerprint(&file).unwrap();
        std::fs::write(&file, b"three").unwrap();
        assert_ne!(first, fingerprint(&file).unwrap());
        assert!(fingerprint(&dir.path().join("missing")).is_err());
    }
}
