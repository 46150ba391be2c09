//! Shared by the integration tests and benchmarks: the example functions, built to wasm once.

#![allow(dead_code)]

pub mod process;
pub mod server;
pub mod store;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (the parent of `host/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The path of `examples/<name>`'s component, building the examples workspace on first use.
pub fn example_wasm(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = repo_root();
        ensure_wasm_target(&root);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(root.join("examples/Cargo.toml"))
            .arg("--target-dir")
            .arg(root.join("examples/target"))
            .status()
            .expect("running cargo to build the examples");
        assert!(status.success(), "building examples/ to wasm32-wasip2 failed");
        root.join("examples/target/wasm32-wasip2/release")
    });
    dir.join(format!("{}.wasm", name.replace('-', "_")))
}

/// Adds the `wasm32-wasip2` target when the toolchain lacks it: rust-toolchain.toml's `targets` is
/// only applied when rustup installs the toolchain, not to one that is already there.
fn ensure_wasm_target(root: &Path) {
    const TARGET: &str = "wasm32-wasip2";
    // Run from the repository root with our environment, so rust-toolchain.toml (or the
    // RUSTUP_TOOLCHAIN cargo was started with) picks the same toolchain cargo builds with.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(rustc)
        .current_dir(root)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    if sysroot.is_some_and(|sysroot| sysroot.join("lib/rustlib").join(TARGET).is_dir()) {
        return;
    }
    let added = Command::new("rustup")
        .current_dir(root)
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        added,
        "the {TARGET} target is not installed and `rustup target add {TARGET}` did not add it; \
         run `rustup target add wasm32-wasip2 --toolchain 1.95.0`"
    );
}

/// The bytes of an example's component.
pub fn example_bytes(name: &str) -> Vec<u8> {
    let path = example_wasm(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The events of an `application/vnd.amazon.eventstream` body: (`:event-type`, payload).
pub fn event_stream(mut body: bytes::Bytes) -> Vec<(String, bytes::Bytes)> {
    use bytes::Buf as _;
    let mut events = Vec::new();
    while body.has_remaining() {
        let message =
            aws_smithy_eventstream::frame::read_message_from(&mut body).expect("an event-stream frame");
        let event_type = message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == ":event-type")
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str().to_string())
            .expect(":event-type");
        events.push((event_type, message.payload().clone()));
    }
    events
}
