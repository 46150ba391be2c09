//! Handlers are plain Rust: the examples' own unit tests run natively (no wasm, no host), as any
//! function author's would with `cargo test`.

mod support;

use std::process::Command;

#[test]
fn example_handlers_pass_their_native_unit_tests() {
    let root = support::repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args(["test", "--manifest-path"])
        .arg(root.join("examples/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("examples/target"))
        .output()
        .expect("running cargo test on examples/");
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{log}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The tests really ran: hello's, stream's and http's native tests are among them.
    assert!(log.contains("greets_by_name_natively ... ok"), "{log}");
    assert!(log.contains("streams_every_chunk_natively ... ok"), "{log}");
    assert!(log.contains("routes_by_path_natively ... ok"), "{log}");
}
