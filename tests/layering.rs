//! The crate graph points one way: each of lambkin's crates may depend only on the crates below
//! it. `cargo metadata` reads the manifests as cargo does, so a dependency added upward (say, the
//! registry on the sandbox, or the sandbox on anything of lambkin) fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each crate of the workspace and the lambkin crates it may depend on (normal and build
/// dependencies; tests and benchmarks may use anything).
const ALLOWED: &[(&str, &[&str])] = &[
    ("lambkin-protocol", &[]),
    ("lambkin-sandbox", &[]),
    ("lambkin-registry", &[]),
    (
        "lambkin-invoke",
        &["lambkin-sandbox", "lambkin-registry", "lambkin-protocol"],
    ),
    (
        "lambkin-api",
        &[
            "lambkin-invoke",
            "lambkin-registry",
            "lambkin-sandbox",
            "lambkin-protocol",
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
        ],
    ),
    ("lambkin", &["lambkin-macros", "lambkin-protocol"]),
    ("lambkin-macros", &[]),
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
