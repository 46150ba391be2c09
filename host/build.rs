//! Builds the managed runtimes the `lambkin` binary embeds: `runtimes/<language>/build.sh` makes
//! each from lambkin's bootstrap sources with pinned tools fetched from PyPI / npm on the first
//! build (cached in `target/runtimes/`, so later builds skip the work). A runtime that cannot be
//! built (no python3 or node, no registry access) is left out with a warning; the binary then
//! refuses that `Runtime` with a clear error. `LAMBKIN_RUNTIMES=none` leaves them all out.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Runtime {
    /// The prefix of the variables the binary reads (`LAMBKIN_RUNTIME_<KEY>_WASM`, ...).
    key: &'static str,
    /// `runtimes/<dir>/build.sh`, and the sources it builds from.
    dir: &'static str,
    sources: &'static [&'static str],
    /// What the script makes, under `target/runtimes/`.
    output: &'static str,
    /// The directory (under the output) mounted at `/var/lang`, zipped as it sits there.
    files: Option<&'static str>,
}

const RUNTIMES: &[Runtime] = &[
    Runtime {
        key: "PYTHON",
        dir: "python",
        sources: &[
            "build.sh",
            "bootstrap",
            "build",
            "wit",
            "../node/bootstrap/wit/deps",
        ],
        output: "python3.14",
        files: Some("lib"),
    },
    Runtime {
        key: "NODE",
        dir: "node",
        sources: &[
            "build.sh",
            "bootstrap/src",
            "bootstrap/wit",
            "bootstrap/package-lock.json",
        ],
        output: "nodejs",
        files: None,
    },
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("the workspace root").to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-env-changed=LAMBKIN_RUNTIMES");
    let skip = std::env::var("LAMBKIN_RUNTIMES").is_ok_and(|v| v == "none");
    for runtime in RUNTIMES {
        let built = if skip {
            None
        } else {
            build(&root, runtime, &out_dir)
        };
        let (wasm, files) = built.unwrap_or_else(|| {
            let empty = out_dir.join(format!("{}-none", runtime.dir));
            File::create(&empty).expect("an empty file");
            (empty.clone(), empty)
        });
        let key = runtime.key;
        println!("cargo:rustc-env=LAMBKIN_RUNTIME_{key}_WASM={}", wasm.display());
        println!("cargo:rustc-env=LAMBKIN_RUNTIME_{key}_FILES={}", files.display());
        println!(
            "cargo:rustc-env=LAMBKIN_RUNTIME_{key}_VERSION={} lambkin-{}",
            runtime.output,
            std::env::var("CARGO_PKG_VERSION").unwrap_or_default()
        );
    }
}

/// Runs the runtime's build script; the component and the zip of its files.
fn build(root: &Path, runtime: &Runtime, out_dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let dir = root.join("runtimes").join(runtime.dir);
    for source in runtime.sources {
        println!("cargo:rerun-if-changed={}", dir.join(source).display());
    }
    let output = root.join("target/runtimes").join(runtime.output);
    let wasm = output.join("runtime.wasm");
    println!("cargo:rerun-if-changed={}", wasm.display());
    let script = dir.join("build.sh");
    let ran = Command::new("bash")
        .arg(&script)
        // cargo's own variables are for this crate's build, not the runtime's tools.
        .env_remove("CARGO_TARGET_DIR")
        .output();
    let failed = match &ran {
        Ok(done) if done.status.success() && wasm.is_file() => None,
        Ok(done) => Some(String::from_utf8_lossy(&done.stderr).into_owned()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = failed {
        let tail: Vec<&str> = why.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        println!(
            "cargo:warning=the {} runtime was not built ({}): {}",
            runtime.output,
            script.display(),
            tail.join(" | ")
        );
        return None;
    }
    let files = out_dir.join(format!("{}-files.zip", runtime.dir));
    match runtime.files {
        Some(sub) => zip_dir(&output, sub, &files).expect("zipping the runtime's files"),
        None => {
            File::create(&files).expect("an empty file");
        }
    }
    Some((wasm, files))
}

/// Zips `base/sub` into `dest`, entries named from `sub/` on (so it unpacks to `<dest>/sub/...`).
fn zip_dir(base: &Path, sub: &str, dest: &Path) -> std::io::Result<()> {
    let mut writer = zip::ZipWriter::new(File::create(dest)?);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut pending = vec![base.join(sub)];
    while let Some(dir) = pending.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = path
                .strip_prefix(base)
                .map_err(std::io::Error::other)?
                .to_string_lossy()
                .replace('\\', "/");
            if entry.file_type()?.is_dir() {
                writer.add_directory(format!("{name}/"), options)?;
                pending.push(path);
            } else {
                writer.start_file(name, options)?;
                writer.write_all(&std::fs::read(&path)?)?;
            }
        }
    }
    writer.finish()?;
    Ok(())
}
