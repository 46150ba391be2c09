//! The crate graph points one way: each of lambkin's crates may depend only on the crates below
//! it. `cargo metadata` reads the manifests as cargo does, so a dependency added upward (say, the
//! registry on the sandbox, or the sandbox on anything of lambkin but its egress policy) fails
//! here.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each crate of the workspace and the lambkin crates it may depend on (normal and build
/// dependencies; tests and benchmarks may use anything).
const ALLOWED: &[(&str, &[&str])] = &[
    ("lambkin-protocol", &[]),
    // The egress policy is a capability the sandbox plugs in; it knows nothing of wasmtime.
    ("lambkin-egress", &[]),
    // The log store is a leaf too: the sandbox writes to it, the API reads it.
    ("lambkin-logs", &[]),
    // Metrics and traces are a leaf: the invocation layer and the front door record to them.
    ("lambkin-telemetry", &[]),
    ("lambkin-sandbox", &["lambkin-egress", "lambkin-logs"]),
    ("lambkin-registry", &[]),
    (
        "lambkin-invoke",
        &[
            "lambkin-sandbox",
            "lambkin-registry",
            "lambkin-protocol",
            "lambkin-egress",
            "lambkin-logs",
            "lambkin-telemetry",
        ],
    ),
    (
        "lambkin-api",
        &[
            "lambkin-invoke",
            "lambkin-registry",
            "lambkin-sandbox",
            "lambkin-protocol",
            "lambkin-egress",
            "lambkin-logs",
            "lambkin-telemetry",
        ],
    ),
    (
        "lambkin-host",
        &[
            "lambkin-api",
            "lambkin-invoke",
            "lambkin-registry",
            "lambkin-sandbox",
            "lambkin-protocol",
            "lambkin-egress",
            "lambkin-logs",
            "lambkin-telemetry",
        ],
    ),
    ("lambkin", &["lambkin-macros", "lambkin-protocol"]),
    ("lambkin-macros", &[]),
    // The bare-HTTP reference of benches/hot_path.py: nothing of lambkin, by definition.
    ("axum-hello", &[]),
];

#[test]
fn crates_depend_only_on_the_crates_below_them() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(cargo)
        .current_dir(&root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(name, deps)| (*name, deps.iter().copied().collect()))
        .collect();
    let mut seen = BTreeSet::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name");
        let Some(may_use) = allowed.get(name) else {
            panic!("{name} is a new crate: place it in ALLOWED, with the crates it may depend on");
        };
        seen.insert(name);
        for dependency in package["dependencies"].as_array().expect("dependencies") {
            let dep = dependency["name"].as_str().expect("dependency name");
            let kind = dependency["kind"].as_str();
            if dep.starts_with("lambkin") && kind != Some("dev") {
                assert!(
                    may_use.contains(dep),
                    "{name} depends on {dep}, which is not below it (allowed: {may_use:?})"
                );
            }
        }
    }
    assert!(
        seen.contains("lambkin-sandbox") && seen.contains("lambkin-api"),
        "read the workspace: {seen:?}"
    );
}

/// The README's Layout names every crate under `crates/`, and every path it names at the top
/// level exists.
#[test]
fn the_readme_layout_matches_the_tree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let layout = readme
        .split("## Layout\n\n```\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a Layout block");
    let mut section = String::new();
    let mut named = BTreeSet::new();
    for line in layout.lines() {
        let Some(entry) = line.split_whitespace().next() else {
            continue;
        };
        if line.starts_with(entry) {
            assert!(
                root.join(entry).exists(),
                "the Layout names {entry}, which does not exist"
            );
            section = entry.to_string();
        } else if line.starts_with("  ") && !line.starts_with("   ") && entry.ends_with('/') {
            let path = format!("{section}{entry}");
            assert!(
                root.join(&path).is_dir(),
                "the Layout names {path}, which does not exist"
            );
            named.insert(path);
        }
    }
    for crate_dir in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let name = crate_dir
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        assert!(
            named.contains(&format!("crates/{name}/")),
            "the Layout does not name crates/{name}/"
        );
    }
}
