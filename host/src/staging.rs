//! What a `kill -9` leaves in a local store: object_store's local filesystem writes each object
//! to `<path>#<n>` and renames it into place, so a process killed in between leaves the staging
//! file. It is invisible to the store (its listings skip such names) but takes disk space;
//! `serve` removes them at start-up, before anything writes.

use std::path::{Path, PathBuf};

/// Removes every staging file under `root`, except under the directories of `skip` (users'
/// files); returns how many. Symlinks are not followed.
pub fn remove_staging_files(root: &Path, skip: &[PathBuf]) -> usize {
    let mut removed = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let (path, Ok(kind)) = (entry.path(), entry.file_type()) else {
                continue;
            };
            if kind.is_dir() && !skip.contains(&path) {
                pending.push(path);
            } else if kind.is_file()
                && entry.file_name().to_str().is_some_and(is_staging_name)
                && std::fs::remove_file(&path).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

/// `<name>#<digits>`: the name object_store stages an upload under.
fn is_staging_name(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_files_are_removed_and_everything_else_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = |p: &str| root.path().join(p);
        for dir in ["functions", "code", "buckets/b"] {
            std::fs::create_dir_all(path(dir)).expect("mkdir");
        }
        let files = [
            "functions/f.json",
            "functions/f.json#1",
            "code/x.wasm#42",
            "code/x.wasm",
            "functions/g.json#tag",
            "buckets/b/key#1",
        ];
        for file in files {
            std::fs::write(path(file), b"x").expect("write");
        }
        assert_eq!(remove_staging_files(root.path(), &[path("buckets")]), 2);
        for (file, kept) in files.iter().zip([true, false, false, true, true, true]) {
            assert_eq!(path(file).exists(), kept, "{file}");
        }
    }
}
