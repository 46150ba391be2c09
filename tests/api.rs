//! The control plane through the real router (`server::app`, driven with `oneshot`) on a real
//! object store in a temporary directory: Lambda's validation matrix, version and alias rules,
//! package limits, and what survives reopening the registry.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};
use support::server::{assert_error, b64, call, call_raw, create, create_body, open, settled};

async fn update_config(app: &Router, name: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    call(
        app,
        "PUT",
        &format!("/2015-03-31/functions/{name}/configuration"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn memory_timeout_and_ephemeral_storage_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    create(&app, "limits").await;
    let cases = [
        ("MemorySize", 127, false),
        ("MemorySize", 128, true),
        ("MemorySize", 10240, true),
        ("MemorySize", 10241, false),
        ("Timeout", 0, false),
        ("Timeout", 1, true),
        ("Timeout", 900, true),
        ("Timeout", 901, false),
    ];
    for (field, value, ok) in cases {
        let result = update_config(&app, "limits", json!({ field: value })).await;
        if ok {
            assert_eq!(result.0, StatusCode::OK, "{field}={value}: {:?}", result.2);
            assert_eq!(result.2[field], value);
        } else {
            assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
        }
    }
    for (size, ok) in [(511, false), (512, true), (10240, true), (10241, false)] {
        let result = update_config(&app, "limits", json!({ "EphemeralStorage": { "Size": size } })).await;
        if ok {
            assert_eq!(result.2["EphemeralStorage"]["Size"], size);
        } else {
            assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
        }
    }
    // The same limits hold at creation.
    let too_big = create_body("too-big", json!({ "MemorySize": 20000 }));
    let result = call(&app, "POST", "/2015-03-31/functions", Some(too_big)).await;
    assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
}

#[tokio::test]
async fn names_identifiers_and_runtimes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    let longest = "n".repeat(64);
    create(&app, &longest).await;
    for bad in ["n".repeat(65), "dots.bad".to_string(), "sp ace".to_string()] {
        let result = call(
            &app,
            "POST",
            "/2015-03-31/functions",
            Some(create_body(&bad, json!({}))),
        )
        .await;
        assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
    }
    let python = create_body("py", json!({ "Runtime": "python3.12" }));
    let result = call(&app, "POST", "/2015-03-31/functions", Some(python)).await;
    assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
    let no_role = create_body("no-role", json!({ "Role": "not-a-role" }));
    let result = call(&app, "POST", "/2015-03-31/functions", Some(no_role)).await;
    assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");

    create(&app, "ids").await;
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:ids";
    for id in [
        "ids",
        arn,
        "000000000000:function:ids",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aids",
    ] {
        let (status, _, body) = call(&app, "GET", &format!("/2015-03-31/functions/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
        assert_eq!(body["Configuration"]["FunctionArn"], arn);
    }
    let (status, _, body) = call(
        &app,
        "GET",
        &format!("/2015-03-31/functions/{arn}:$LATEST/configuration"),
        None,
    )
    .await;
    assert_eq!((status, &body["Version"]), (StatusCode::OK, &json!("$LATEST")));
    let mismatch = call(
        &app,
        "GET",
        &format!("/2015-03-31/functions/{arn}:1?Qualifier=2"),
        None,
    )
    .await;
    assert_error(
        mismatch,
        StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
    );
    let other_account = "arn:aws:lambda:us-east-1:111111111111:function:ids";
    let result = call(
        &app,
        "GET",
        &format!("/2015-03-31/functions/{other_account}"),
        None,
    )
    .await;
    assert_error(result, StatusCode::NOT_FOUND, "ResourceNotFoundException");
    let result = call(&app, "GET", "/2015-03-31/functions/missing", None).await;
    assert_error(result, StatusCode::NOT_FOUND, "ResourceNotFoundException");
    let result = call(
        &app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("ids", json!({}))),
    )
    .await;
    assert_error(result, StatusCode::CONFLICT, "ResourceConflictException");
}

#[tokio::test]
async fn environment_variables_size_and_reserved_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    create(&app, "env").await;
    let fits = "v".repeat(4 * 1024 - 4);
    let result = update_config(
        &app,
        "env",
        json!({ "Environment": { "Variables": { "BIG": fits } } }),
    )
    .await;
    assert_eq!(result.0, StatusCode::OK, "{:?}", result.2);
    let over = "v".repeat(4 * 1024);
    for variables in [
        json!({ "BIG": over }),
        json!({ "AWS_REGION": "mars" }),
        json!({ "AWS_LAMBDA_FUNCTION_NAME": "x" }),
        json!({ "_HANDLER": "x" }),
        json!({ "1ABC": "x" }),
        json!({ "A": "x" }),
        json!({ "HAS-DASH": "x" }),
    ] {
        let result = update_config(&app, "env", json!({ "Environment": { "Variables": variables } })).await;
        assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
    }
    // A refused update changed nothing.
    let (_, _, config) = call(&app, "GET", "/2015-03-31/functions/env/configuration", None).await;
    assert_eq!(
        config["Environment"]["Variables"]["BIG"].as_str().map(str::len),
        Some(4 * 1024 - 4)
    );
}

async fn publish(app: &Router, name: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    call(
        app,
        "POST",
        &format!("/2015-03-31/functions/{name}/versions"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn version_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    let created = create(&app, "ver").await;
    let (status, _, v1) = publish(&app, "ver", json!({})).await;
    assert_eq!((status, &v1["Version"]), (StatusCode::CREATED, &json!("1")));
    assert_eq!(
        v1["FunctionArn"],
        format!("{}:1", created["FunctionArn"].as_str().unwrap_or_default())
    );
    // Nothing changed: no new version.
    let (_, _, again) = publish(&app, "ver", json!({})).await;
    assert_eq!(again["Version"], "1");
    // A change makes version 2; version 1 keeps its configuration.
    update_config(&app, "ver", json!({ "MemorySize": 256 })).await;
    let (_, _, v2) = publish(&app, "ver", json!({ "Description": "second" })).await;
    assert_eq!(
        (&v2["Version"], &v2["Description"]),
        (&json!("2"), &json!("second"))
    );
    let (_, _, old) = call(
        &app,
        "GET",
        "/2015-03-31/functions/ver/configuration?Qualifier=1",
        None,
    )
    .await;
    assert_eq!(old["MemorySize"], 128);

    let stale = publish(&app, "ver", json!({ "RevisionId": "stale" })).await;
    assert_error(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
    );
    let wrong_sha = publish(&app, "ver", json!({ "CodeSha256": "AAAA" })).await;
    assert_error(
        wrong_sha,
        StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
    );
    let stale_update = update_config(&app, "ver", json!({ "Timeout": 5, "RevisionId": "stale" })).await;
    assert_error(
        stale_update,
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
    );

    let (_, _, listed) = call(&app, "GET", "/2015-03-31/functions/ver/versions", None).await;
    let versions: Vec<&str> = listed["Versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["Version"].as_str())
        .collect();
    assert_eq!(versions, ["$LATEST", "1", "2"]);

    let latest = call(
        &app,
        "DELETE",
        "/2015-03-31/functions/ver?Qualifier=$LATEST",
        None,
    )
    .await;
    assert_error(latest, StatusCode::BAD_REQUEST, "InvalidParameterValueException");
    let (status, _, _) = call(&app, "DELETE", "/2015-03-31/functions/ver?Qualifier=2", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gone = call(&app, "GET", "/2015-03-31/functions/ver?Qualifier=2", None).await;
    assert_error(gone, StatusCode::NOT_FOUND, "ResourceNotFoundException");

    // Numbers are never reused, even after the function is deleted and created again.
    let (status, _, _) = call(&app, "DELETE", "/2015-03-31/functions/ver", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    create(&app, "ver").await;
    let (_, _, v3) = publish(&app, "ver", json!({})).await;
    assert_eq!(v3["Version"], "3");
}

#[tokio::test]
async fn alias_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    create(&app, "al").await;
    publish(&app, "al", json!({})).await;
    update_config(&app, "al", json!({ "Description": "changed" })).await;
    publish(&app, "al", json!({})).await;
    let aliases = "/2015-03-31/functions/al/aliases";
    let bad = [
        (
            json!({ "Name": "123", "FunctionVersion": "1" }),
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
        ),
        (
            json!({ "Name": "x", "FunctionVersion": "9" }),
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
        ),
        (
            json!({ "Name": "x", "FunctionVersion": "2", "RoutingConfig": { "AdditionalVersionWeights": { "1": 0.2, "3": 0.1 } } }),
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
        ),
        (
            json!({ "Name": "x", "FunctionVersion": "2", "RoutingConfig": { "AdditionalVersionWeights": { "1": 1.5 } } }),
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
        ),
        (
            json!({ "Name": "x", "FunctionVersion": "$LATEST", "RoutingConfig": { "AdditionalVersionWeights": { "1": 0.5 } } }),
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
        ),
        (
            json!({ "Name": "x", "FunctionVersion": "2", "RoutingConfig": { "AdditionalVersionWeights": { "2": 0.5 } } }),
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
        ),
    ];
    for (body, status, code) in bad {
        let result = call(&app, "POST", aliases, Some(body.clone())).await;
        assert_error(result, status, code);
    }
    let weighted = json!({ "Name": "live", "FunctionVersion": "2", "RoutingConfig": { "AdditionalVersionWeights": { "1": 0.3 } } });
    let (status, _, alias) = call(&app, "POST", aliases, Some(weighted.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{alias}");
    assert_eq!(
        alias["AliasArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:al:live"
    );
    assert_eq!(alias["RoutingConfig"]["AdditionalVersionWeights"]["1"], 0.3);
    assert_error(
        call(&app, "POST", aliases, Some(weighted)).await,
        StatusCode::CONFLICT,
        "ResourceConflictException",
    );

    // Version 1 is routed to: it cannot be deleted until the alias lets go of it.
    let blocked = call(&app, "DELETE", "/2015-03-31/functions/al?Qualifier=1", None).await;
    assert_error(blocked, StatusCode::CONFLICT, "ResourceConflictException");
    let stale = json!({ "FunctionVersion": "2", "RoutingConfig": { "AdditionalVersionWeights": {} }, "RevisionId": "stale" });
    let result = call(&app, "PUT", &format!("{aliases}/live"), Some(stale)).await;
    assert_error(
        result,
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
    );
    let unweighted = json!({ "FunctionVersion": "2", "RoutingConfig": { "AdditionalVersionWeights": {} } });
    let (status, _, alias) = call(&app, "PUT", &format!("{aliases}/live"), Some(unweighted)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(alias.get("RoutingConfig").is_none(), "{alias}");
    let (status, _, _) = call(&app, "DELETE", "/2015-03-31/functions/al?Qualifier=1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The alias resolves to its version.
    let (_, _, config) = call(
        &app,
        "GET",
        "/2015-03-31/functions/al/configuration?Qualifier=live",
        None,
    )
    .await;
    assert_eq!(config["Version"], "2");
    let missing = call(&app, "GET", &format!("{aliases}/nope"), None).await;
    assert_error(missing, StatusCode::NOT_FOUND, "ResourceNotFoundException");
}

#[tokio::test]
async fn packages_from_zips_and_buckets_and_their_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    let wasm = support::example_bytes("hello");

    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer.start_file("hello.wasm", options).expect("zip");
    std::io::Write::write_all(&mut writer, &wasm).expect("zip");
    let zipped = writer.finish().expect("zip").into_inner();
    let body = create_body("zipped", json!({ "Code": { "ZipFile": b64(&zipped) } }));
    let (status, _, config) = call(&app, "POST", "/2015-03-31/functions", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    assert_eq!(config["CodeSize"], zipped.len());

    std::fs::create_dir_all(dir.path().join("buckets/deploys/fns")).expect("mkdir");
    std::fs::write(dir.path().join("buckets/deploys/fns/hello.wasm"), &wasm).expect("write");
    let from_bucket = create_body(
        "from-s3",
        json!({ "Code": { "S3Bucket": "deploys", "S3Key": "fns/hello.wasm" } }),
    );
    let (status, _, config) = call(&app, "POST", "/2015-03-31/functions", Some(from_bucket)).await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    let missing = create_body(
        "no-key",
        json!({ "Code": { "S3Bucket": "deploys", "S3Key": "nope.wasm" } }),
    );
    let result = call(&app, "POST", "/2015-03-31/functions", Some(missing)).await;
    assert_error(result, StatusCode::BAD_REQUEST, "InvalidParameterValueException");

    // Over 50 MB zipped: 413 in the AWS format, from the package check and from the body limit.
    let mut huge = b"\0asm".to_vec();
    huge.resize(50 * 1024 * 1024 + 1, 0);
    let body = create_body("huge", json!({ "Code": { "ZipFile": b64(&huge) } }));
    let result = call(&app, "POST", "/2015-03-31/functions", Some(body)).await;
    assert_error(
        result,
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
    );
    let oversized = Body::from(vec![b' '; 80 * 1024 * 1024]);
    let result = call_raw(&app, "POST", "/2015-03-31/functions", oversized).await;
    assert_error(
        result,
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
    );
}

#[tokio::test]
async fn invalid_wasm_fails_the_function_not_the_server_and_state_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    let broken = create_body(
        "broken",
        json!({ "Code": { "ZipFile": b64(b"\0asm\x0d\0\x01\0garbage") } }),
    );
    let (status, _, config) = call(&app, "POST", "/2015-03-31/functions", Some(broken)).await;
    assert_eq!(
        (status, &config["State"]),
        (StatusCode::CREATED, &json!("Pending"))
    );
    let config = settled(&app, "broken").await;
    assert_eq!(config["State"], "Failed");
    assert_eq!(config["StateReasonCode"], "InvalidZipFileException");
    assert!(
        config["StateReason"]
            .as_str()
            .is_some_and(|r| r.contains("not a usable lambkin component"))
    );

    create(&app, "kept").await;
    assert_eq!(settled(&app, "kept").await["State"], "Active");
    publish(&app, "kept", json!({})).await;
    call(
        &app,
        "POST",
        "/2015-03-31/functions/kept/aliases",
        Some(json!({ "Name": "live", "FunctionVersion": "1" })),
    )
    .await;
    call(
        &app,
        "PUT",
        "/2017-10-31/functions/kept/concurrency",
        Some(json!({ "ReservedConcurrentExecutions": 7 })),
    )
    .await;
    let (_, _, before) = call(&app, "GET", "/2015-03-31/functions/kept?Qualifier=live", None).await;
    drop(app);

    let reopened = open(dir.path()).await;
    let (_, _, after) = call(
        &reopened,
        "GET",
        "/2015-03-31/functions/kept?Qualifier=live",
        None,
    )
    .await;
    assert_eq!(before, after);
    assert_eq!(after["Concurrency"]["ReservedConcurrentExecutions"], 7);
    let (_, _, broken) = call(
        &reopened,
        "GET",
        "/2015-03-31/functions/broken/configuration",
        None,
    )
    .await;
    assert_eq!(broken["State"], "Failed");
}
