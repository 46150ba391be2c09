//! Hot reload, LocalStack's convention: `Code.S3Bucket` `hot-reload` with `S3Key` an absolute
//! path on the lambkin host makes that directory (or, for a component, that `.wasm` file) the
//! function's code. Nothing is copied: every new execution environment reads the path as it is
//! then, so a saved edit takes effect on the next invocation without a redeploy. Such code has
//! no fixed bytes, hence no SnapStart and LocalStack's placeholder CodeSha256.
//!
//! It lets an API caller mount a host path, read-only, into a function, so the operator decides
//! where it is allowed (by default only on a loopback listener).

use std::path::{Path, PathBuf};

use super::Registry;
use crate::RegistryError;
use crate::function_input::invalid;

/// The bucket name that means "a local path, hot-reloaded".
pub const HOT_RELOAD_BUCKET: &str = "hot-reload";

/// The CodeSha256 of hot-reloaded code (LocalStack's): its bytes change under it.
pub const HOT_RELOAD_CODE_SHA256: &str = "hot-reloading-hash-not-available";

impl Registry {
    /// The path a hot-reload `S3Key` names: allowed here, absolute, and there.
    pub(crate) fn hot_reload_path(&self, key: &str) -> Result<PathBuf, RegistryError> {
        if !self.hot_reload {
            return Err(invalid(
                "Hot reload (Code.S3Bucket hot-reload) is off on this lambkin: it serves on a non-loopback address without --allow-hot-reload",
            ));
        }
        let path = Path::new(key);
        if !path.is_absolute() {
            return Err(invalid(format!(
                "Code.S3Key of the {HOT_RELOAD_BUCKET} bucket must be an absolute path on the lambkin host, got {key:?}"
            )));
        }
        if !path.exists() {
            return Err(invalid(format!(
                "Code.S3Key of the {HOT_RELOAD_BUCKET} bucket names {key}, which does not exist on the lambkin host"
            )));
        }
        Ok(path.to_path_buf())
    }
}

/// The component file of hot-reloaded code: the path itself, or the handler's file in it.
pub fn component_path(path: &Path, handler: &str) -> PathBuf {
    if path.is_dir() {
        path.join(handler)
    } else {
        path.to_path_buf()
    }
}
