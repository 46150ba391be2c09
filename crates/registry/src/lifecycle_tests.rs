//! The lifecycle states a version goes through, on a registry over an in-memory store: what a
//! restart finds to do again, and what settling one code settles.

use base64::Engine as _;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use std::sync::Arc;

use super::*;
use crate::{Buckets, PublishInput, RegistryConfig, RegistryLimits};

/// A component header followed by `tag`: enough for the registry, which never compiles.
pub(crate) fn code(tag: &str) -> String {
    let mut wasm = b"\0asm\x0d\0\x01\0".to_vec();
    wasm.extend_from_slice(tag.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(wasm)
}

async fn open(store: &Arc<InMemory>) -> (Arc<Registry>, LifecycleJobs) {
    open_shared(store, None).await
}

/// A registry on `store`, shared with other nodes when `refresh_every` is set.
pub(crate) async fn open_shared(
    store: &Arc<InMemory>,
    refresh_every: Option<std::time::Duration>,
) -> (Arc<Registry>, LifecycleJobs) {
    let store: Arc<dyn ObjectStore> = store.clone();
    Registry::open(RegistryConfig {
        store,
        buckets: Buckets::Local(Arc::new(InMemory::new())),
        refresh_every,
        opt_root: std::env::temp_dir().join("lambkin-registry-tests-opt"),
        task_root: std::env::temp_dir().join("lambkin-registry-tests-task"),
        runtimes: Vec::new(),
        hot_reload: false,
        runtime_version_arn: "arn:aws:lambda:us-east-1::runtime:lambkin".into(),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        account_concurrency: 1000,
        limits: RegistryLimits::default(),
    })
    .await
    .expect("open the registry")
}

pub(crate) async fn create(registry: &Arc<Registry>, name: &str, tag: &str) -> String {
    let input = serde_json::from_value(serde_json::json!({
        "FunctionName": name,
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Runtime": "provided.al2023",
        "Handler": "f.wasm",
        "Code": { "ZipFile": code(tag) },
    }))
    .expect("input");
    registry.create_function(input).await.expect("create");
    wasm_of(registry, name, None).await
}

async fn update_code(registry: &Arc<Registry>, name: &str, tag: &str) -> String {
    let input = serde_json::from_value(serde_json::json!({ "ZipFile": code(tag) })).expect("input");
    registry.update_function_code(name, input).await.expect("update");
    wasm_of(registry, name, None).await
}

async fn wasm_of(registry: &Registry, name: &str, qualifier: Option<&str>) -> String {
    registry.get_function(name, qualifier).await.expect("get").2
}

async fn status(registry: &Registry, name: &str, qualifier: &str) -> (State, LastUpdateStatus) {
    let (config, _, _) = registry.get_function(name, Some(qualifier)).await.expect("get");
    (config.state, config.last_update_status)
}

fn drain(jobs: &mut LifecycleJobs) -> Vec<LifecycleJob> {
    std::iter::from_fn(|| jobs.try_recv().ok()).collect()
}

fn activate(function: &str, wasm_sha256: &str) -> LifecycleJob {
    LifecycleJob::Activate {
        function: function.into(),
        wasm_sha256: wasm_sha256.into(),
    }
}

const SETTLED: (State, LastUpdateStatus) = (State::Active, LastUpdateStatus::Successful);

#[tokio::test]
async fn a_restart_activates_the_code_of_a_version_published_while_it_compiled() {
    let store = Arc::new(InMemory::new());
    let (registry, _jobs) = open(&store).await;
    let first = create(&registry, "f", "one").await;
    registry
        .publish_version("f", PublishInput::default())
        .await
        .expect("publish");
    let second = update_code(&registry, "f", "two").await;
    assert_ne!(first, second);
    // Killed here: neither activation ran.
    drop(registry);

    let (registry, mut jobs) = open(&store).await;
    let mut found = drain(&mut jobs);
    found.sort_by_key(|job| format!("{job:?}"));
    let mut expected = vec![activate("f", &first), activate("f", &second)];
    expected.sort_by_key(|job| format!("{job:?}"));
    assert_eq!(found, expected, "version 1's code as well as $LATEST's");

    registry.settle_code("f", &first, Ok(())).await;
    assert_eq!(status(&registry, "f", "1").await, SETTLED);
    assert_eq!(
        status(&registry, "f", "$LATEST").await.1,
        LastUpdateStatus::InProgress,
        "other code is not settled by this one"
    );
    registry.settle_code("f", &second, Ok(())).await;
    assert_eq!(status(&registry, "f", "$LATEST").await, SETTLED);
}

#[tokio::test]
async fn one_activation_settles_latest_and_every_version_of_its_code() {
    let store = Arc::new(InMemory::new());
    let (registry, mut jobs) = open(&store).await;
    let code = create(&registry, "f", "one").await;
    registry
        .publish_version("f", PublishInput::default())
        .await
        .expect("publish");
    assert_eq!(status(&registry, "f", "1").await.0, State::Pending);
    assert_eq!(drain(&mut jobs), vec![activate("f", &code)]);
    drop(registry);

    // The same code queued once after a restart, however many versions hold it.
    let (registry, mut jobs) = open(&store).await;
    assert_eq!(drain(&mut jobs), vec![activate("f", &code)]);
    registry.settle_code("f", &code, Ok(())).await;
    assert_eq!(status(&registry, "f", "$LATEST").await, SETTLED);
    assert_eq!(status(&registry, "f", "1").await, SETTLED);
    drop(registry);

    let (_registry, mut jobs) = open(&store).await;
    assert_eq!(drain(&mut jobs), vec![], "nothing left to do");
}

#[tokio::test]
async fn a_version_published_while_the_code_compiles_settles_with_it() {
    let store = Arc::new(InMemory::new());
    let (registry, _jobs) = open(&store).await;
    let code = create(&registry, "f", "one").await;
    registry
        .publish_version("f", PublishInput::default())
        .await
        .expect("publish");
    registry.settle_code("f", &code, Ok(())).await;
    for qualifier in ["$LATEST", "1"] {
        assert_eq!(status(&registry, "f", qualifier).await, SETTLED, "{qualifier}");
    }
    // Published once the code settled, a version is settled from the start.
    let input = serde_json::from_value(serde_json::json!({ "Description": "later" })).expect("input");
    registry
        .update_function_configuration("f", input)
        .await
        .expect("update");
    let config = registry
        .publish_version("f", PublishInput::default())
        .await
        .expect("publish");
    assert_eq!(config.version, "2");
    assert_eq!((config.state, config.last_update_status), SETTLED);
}

#[tokio::test]
async fn failed_code_fails_every_version_of_it() {
    let store = Arc::new(InMemory::new());
    let (registry, _jobs) = open(&store).await;
    let code = create(&registry, "f", "bad").await;
    registry
        .publish_version("f", PublishInput::default())
        .await
        .expect("publish");
    registry.settle_code("f", &code, Err("no".into())).await;
    for qualifier in ["$LATEST", "1"] {
        assert_eq!(
            status(&registry, "f", qualifier).await,
            (State::Failed, LastUpdateStatus::Failed)
        );
    }
}
