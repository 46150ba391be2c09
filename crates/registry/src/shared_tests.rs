//! Two registries on one in-memory store (which compares ETags as S3 does), each refreshed by
//! hand: what one writes the other reads, and racing writes lose nothing.

use object_store::memory::InMemory;
use std::sync::Arc;
use std::time::Duration;

use crate::lifecycle::tests::{create, open_shared};
use crate::{ConfigurationInput, PublishInput, Registry, RegistryError};

/// Long enough that the background refresh never runs during a test after its first pass.
const NEVER: Option<Duration> = Some(Duration::from_secs(3600));

async fn two_nodes() -> (Arc<Registry>, Arc<Registry>) {
    let store = Arc::new(InMemory::new());
    let (a, _) = open_shared(&store, NEVER).await;
    let (b, _) = open_shared(&store, NEVER).await;
    (a, b)
}

/// CreateFunction, and its code's activation as the invocation layer would settle it.
async fn create_active(registry: &Arc<Registry>, name: &str, tag: &str) {
    let code = create(registry, name, tag).await;
    registry.settle_code(name, &code, Ok(())).await;
}

fn configuration(json: serde_json::Value) -> ConfigurationInput {
    serde_json::from_value(json).expect("input")
}

async fn description(registry: &Registry, name: &str) -> String {
    registry
        .get_function(name, None)
        .await
        .expect("get")
        .0
        .description
}

#[tokio::test]
async fn another_nodes_create_update_and_delete_are_read_on_refresh() {
    let (a, b) = two_nodes().await;
    create_active(&a, "f", "one").await;
    assert!(b.get_function("f", None).await.is_err(), "not refreshed yet");
    b.refresh().await.expect("refresh");
    assert_eq!(
        b.get_function("f", None).await.expect("on b").0.function_name,
        "f"
    );

    let before = b.generation();
    a.update_function_configuration("f", configuration(serde_json::json!({"Description": "two"})))
        .await
        .expect("update on a");
    b.refresh().await.expect("refresh");
    assert_eq!(description(&b, "f").await, "two");
    assert!(b.generation() > before, "routes are looked up again");

    let unchanged = b.generation();
    b.refresh().await.expect("refresh");
    assert_eq!(
        b.generation(),
        unchanged,
        "an unchanged document is not read again"
    );

    a.delete_function("f", None).await.expect("delete on a");
    b.refresh().await.expect("refresh");
    assert!(matches!(
        b.get_function("f", None).await,
        Err(RegistryError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_stale_write_is_done_again_on_the_winners_record() {
    let (a, b) = two_nodes().await;
    create_active(&a, "f", "one").await;
    b.refresh().await.expect("refresh");
    let revision = b.get_function("f", None).await.expect("get").0.revision_id;

    a.update_function_configuration("f", configuration(serde_json::json!({"Timeout": 9})))
        .await
        .expect("a wins");
    // B has not seen A's write: with A's RevisionId precondition it now fails...
    let stale = b
        .update_function_configuration(
            "f",
            configuration(serde_json::json!({"Description": "b", "RevisionId": revision})),
        )
        .await;
    assert!(
        matches!(stale, Err(RegistryError::PreconditionFailed(_))),
        "{stale:?}"
    );
    // ...and without one it is applied on top of A's, which stays.
    a.update_function_configuration("f", configuration(serde_json::json!({"MemorySize": 256})))
        .await
        .expect("a again");
    b.update_function_configuration("f", configuration(serde_json::json!({"Description": "b"})))
        .await
        .expect("b on top");
    a.refresh().await.expect("refresh");
    let config = a.get_function("f", None).await.expect("get").0;
    assert_eq!(
        (config.timeout, config.memory_size, config.description.as_str()),
        (9, 256, "b")
    );
}

#[tokio::test]
async fn stale_publishes_never_reuse_a_number() {
    let (a, b) = two_nodes().await;
    create_active(&a, "f", "one").await;
    b.refresh().await.expect("refresh");
    let publish = PublishInput::default;
    let one = a.publish_version("f", publish()).await.expect("a publishes");
    // B has not seen version 1; its publish of the same $LATEST is Lambda's no-op.
    let again = b.publish_version("f", publish()).await.expect("b publishes");
    assert_eq!(
        (one.version.as_str(), again.revision_id.as_str()),
        ("1", one.revision_id.as_str())
    );

    a.update_function_configuration("f", configuration(serde_json::json!({"Description": "x"})))
        .await
        .expect("change");
    let two = a.publish_version("f", publish()).await.expect("a publishes 2");
    b.update_function_configuration("f", configuration(serde_json::json!({"Description": "y"})))
        .await
        .expect("b changes on top");
    let three = b.publish_version("f", publish()).await.expect("b publishes 3");
    assert_eq!((two.version.as_str(), three.version.as_str()), ("2", "3"));

    // Published and deleted on A, made again on B, which never saw version 4: numbers go on.
    a.update_function_configuration("f", configuration(serde_json::json!({"Description": "z"})))
        .await
        .expect("change");
    let four = a.publish_version("f", publish()).await.expect("a publishes 4");
    a.delete_function("f", None).await.expect("delete");
    b.refresh().await.expect("refresh");
    create_active(&b, "f", "two").await;
    let five = b
        .publish_version("f", publish())
        .await
        .expect("b publishes after recreate");
    assert_eq!((four.version.as_str(), five.version.as_str()), ("4", "5"));
}
