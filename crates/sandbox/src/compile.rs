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

    /// The compiled component for `wasm`, from the cache when it is there.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<Component, SandboxError> {
        let path = self.dir.join(format!("{sha256}.cwasm"));
        if path.exists() {
            // SAFETY: `deserialize_file` trusts the file to be a wasmtime artifact. This one lives
            // in lambkin's own data directory, under a name lambkin gave it: the SHA-256 of the
            // source and the fingerprint of this very engine build and configuration, and it was
            // written complete (temp file + rename) by `Component::serialize` below. Nothing a
            // request sends is ever written there except through that path.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "discarding unusable compiled artifact: {e}")
                }
            }
        }
        let component = compile(engine, wasm)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), "could not cache compiled artifact: {e}");
        }
        Ok(component)
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
