//! The managed runtimes the `lambkin` binary carries: each runtime component and its own files,
//! built by `build.rs` from `runtimes/<language>/` (pinned componentize-py / componentize-js) and
//! embedded in the binary (not in this library, so that the test binaries linking it stay small),
//! so one binary serves Python and Node.js functions with nothing to install. A runtime the build
//! could not make is absent, and CreateFunction says so.

use anyhow::Context as _;
use bytes::Bytes;
use lambkin_registry::runtimes::ManagedRuntime;
use std::path::Path;

/// One embedded runtime: its name, component and files (a zip, unpacked at `/var/lang`); an
/// empty component when the build could not make it.
pub struct Embedded {
    pub name: &'static str,
    pub wasm: &'static [u8],
    pub files_zip: &'static [u8],
    pub version: &'static str,
}

/// The runtimes of `embedded` that were built, their files unpacked (once) under
/// `data_dir/runtimes/`.
pub async fn unpack(embedded: &[Embedded], data_dir: &Path) -> anyhow::Result<Vec<ManagedRuntime>> {
    let root = data_dir.join("runtimes");
    let mut runtimes = Vec::new();
    for embedded in embedded {
        if embedded.wasm.is_empty() {
            tracing::warn!(
                runtime = embedded.name,
                "this lambkin was built without the {} runtime (see the build's warnings)",
                embedded.name
            );
            continue;
        }
        let files = if embedded.files_zip.is_empty() {
            None
        } else {
            let id = &lambkin_sandbox::code_sha256(embedded.files_zip)[..16];
            let dest = root.join(format!("{}-{id}", embedded.name));
            let zip = Bytes::from_static(embedded.files_zip);
            let dir = lambkin_registry::package::unpack_once(vec![zip], root.clone(), dest)
                .await
                .with_context(|| format!("unpacking the {} runtime's files", embedded.name))?;
            Some(dir)
        };
        runtimes.push(ManagedRuntime {
            name: embedded.name.to_string(),
            wasm: Bytes::from_static(embedded.wasm),
            files,
            version: embedded.version.to_string(),
        });
    }
    Ok(runtimes)
}
