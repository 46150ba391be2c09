//! Compile once per code hash; the compiled artifact is cached on disk, keyed by the engine's
//! fingerprint, so a restart (or the next `lambkin invoke`) does not compile again.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::SandboxError;

/// The on-disk cache of compiled components.
pub struct CompileCache {
    /// `<root>/<engine fingerprint>/`: artifacts of another engine build or configuration are
    /// never even looked at.
    dir: PathBuf,
}

impl CompileCache {
    pub fn new(root: &Path, engine: &Engine) -> CompileCache {
        CompileCache {
            dir: root.join(engine_fingerprint(engine)),
        }
    }

    /// The compiled component of the code with this SHA-256, when the cache holds a usable one.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.exists() {
            return None;
        }
        // SAFETY: `deserialize_file` trusts the file to be a wasmtime artifact. This one lives
        // in lambkin's own data directory, under a name lambkin gave it: the SHA-256 of the
        // source and the fingerprint of this very engine build and configuration, and it was
        // written complete (temp file + rename) by `Component::serialize` in `store`. Nothing a
        // request sends is ever written there except through that path.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding unusable compiled artifact: {e}");
                None
            }
        }
    }

    /// Keeps a compiled component for the next load (a failure costs a compile later, no more).
    pub fn keep(&self, sha256: &str, component: &Component) {
        let path = self.path(sha256);
        if let Err(e) = self.store(&path, component) {
            tracing::warn!(path = %path.display(), "could not cache compiled artifact: {e}");
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.cwasm"))
    }

    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = component.serialize()?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(path)?;
        Ok(())
    }
}

/// Compiles without any cache, turning wasmtime's complaint into a clear error.
pub fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, SandboxError> {
    if !wasm.starts_with(b"\0asm") {
        return Err(SandboxError::InvalidCode(
            "not a WebAssembly binary (missing the \\0asm header)".into(),
        ));
    }
    Component::new(engine, wasm).map_err(|e| SandboxError::InvalidCode(format!("{e:#}")))
}

/// Hex SHA-256 of the code, the key of everything derived from it.
pub fn code_sha256(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

/// Identifies the engine build + configuration that compiled artifacts are valid for.
fn engine_fingerprint(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("wasmtime-48-{:016x}", hasher.finish())
}
