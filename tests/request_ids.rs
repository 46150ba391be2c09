//! One request id end to end: every response of every route carries a well-formed
//! `x-amzn-RequestId` of its own; a synchronous invocation's START/END/REPORT lines, the guest's
//! context and a function URL's `requestContext.requestId` name the response's id; an Event's 202
//! names the id its delivery runs under; the server's log lines carry the id of the request (or
//! delivery) they were made for, and have no colour codes off a terminal.

mod support;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use lambkin_api::server::{AppState, FrontDoor};
use lambkin_invoke::worker::AsyncSettings;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::io::BufRead as _;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};
use support::server::{Settings, b64, create_body, settled, start_with, url_id};
use tokio::sync::mpsc;
use tower::ServiceExt as _;

/// Longest anything here is waited for.
const BOUND: Duration = Duration::from_secs(60);

async fn app_with(dir: &std::path::Path, settings: Settings) -> (AppState, Router) {
    let state = start_with(dir, settings).await;
    (state.clone(), lambkin_api::server::app(state))
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body).expect("request")
}

fn json_body(body: Option<Value>) -> Body {
    body.map_or_else(Body::empty, |b| Body::from(b.to_string()))
}

/// One request through the router; status, headers and the whole body.
async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let response = app.clone().oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (parts.status, parts.headers, bytes)
}

/// The response's `x-amzn-RequestId`: exactly one, a lowercase hyphenated UUID v4.
fn request_id(headers: &HeaderMap) -> String {
    let values: Vec<_> = headers.get_all("x-amzn-RequestId").iter().collect();
    assert_eq!(values.len(), 1, "one x-amzn-RequestId: {headers:?}");
    let id = values[0].to_str().expect("text");
    let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id:?} is not a UUID: {e}"));
    assert_eq!(parsed.get_version_num(), 4, "{id} is a UUID v4");
    assert_eq!(parsed.hyphenated().to_string(), id, "lowercase and hyphenated");
    id.to_string()
}

/// Creates `name` from `examples/<example>` and waits until it is Active.
async fn deploy(app: &Router, name: &str, example: &str) {
    let mut body = create_body(name, json!({}));
    body["Code"]["ZipFile"] = json!(b64(&support::example_bytes(example)));
    let created = request("POST", "/2015-03-31/functions", &[], json_body(Some(body)));
    let (status, _, bytes) = send(app, created).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(settled(app, name).await["State"], "Active");
}

/// Every `(METHOD, path)` the routers of `crates/api/src` register, read from their
/// `.route(path, method(handler).method(handler)...)` calls: a route added there is swept here.
fn registered_routes() -> BTreeSet<(String, String)> {
    let dir = support::repo_root().join("crates/api/src");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("crates/api/src") {
        let file = entry.expect("a directory entry").path();
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("a source file");
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a closed .route( call");
            let args = &call[..end];
            let path = args.split('"').nth(1).expect("a path literal");
            assert!(path.starts_with('/'), "{}: {path}", file.display());
            for method in ["get", "post", "put", "delete", "patch", "head", "options", "any"] {
                let named = args.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !matches!(args.as_bytes()[i - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_')
                });
                if named {
                    routes.insert((method.to_uppercase(), path.to_string()));
                }
            }
            rest = &call[end..];
        }
    }
    routes
}

/// The sweep: every request goes through [`Sweep::hit`], which checks the response's id and notes
/// the route (as the router registers it) the request exercised.
struct Sweep {
    ids: HashSet<String>,
    covered: BTreeSet<(String, String)>,
}

impl Sweep {
    /// `route` is `(METHOD, path as registered)`, or a label for what is not a route (a
    /// middleware's answer, the fallback); `status` is what the operation answers.
    async fn hit(
        &mut self,
        app: &Router,
        route: (&str, &str),
        request: Request<Body>,
        status: Option<StatusCode>,
    ) -> (HeaderMap, Bytes) {
        let what = format!("{} {}", request.method(), request.uri());
        let (got, headers, bytes) = send(app, request).await;
        if let Some(status) = status {
            assert_eq!(got, status, "{what}: {}", String::from_utf8_lossy(&bytes));
        }
        let id = request_id(&headers);
        assert!(
            self.ids.insert(id.clone()),
            "{what}: {id} was already another request's"
        );
        self.covered.insert((route.0.to_string(), route.1.to_string()));
        (headers, bytes)
    }

    async fn call(
        &mut self,
        app: &Router,
        route: (&str, &str),
        uri: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let status = StatusCode::from_u16(status).expect("a status");
        let (_, bytes) = self
            .hit(
                app,
                route,
                request(route.0, uri, &[], json_body(body)),
                Some(status),
            )
            .await;
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_of_every_route_carries_its_own_request_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, app) = app_with(dir.path(), Settings::default()).await;
    let mut sweep = Sweep {
        ids: HashSet::new(),
        covered: BTreeSet::new(),
    };
    let s = &mut sweep;
    let app = &app;
    let f = "/2015-03-31/functions/{name}";

    s.call(app, ("GET", "/health"), "/health", None, 200).await;
    s.call(app, ("GET", "/lambkin/pools"), "/lambkin/pools", None, 200)
        .await;
    s.call(app, ("GET", "/metrics"), "/metrics", None, 200).await;
    let account = "/2016-08-19/account-settings";
    s.call(app, ("GET", account), account, None, 200).await;
    let account = "/2016-08-19/account-settings/";
    s.call(app, ("GET", account), account, None, 200).await;

    // Functions.
    let hello = support::example_bytes("hello");
    let create = create_body("swept", json!({}));
    let functions = "/2015-03-31/functions";
    s.call(app, ("POST", functions), functions, Some(create), 201)
        .await;
    settled(app, "swept").await;
    // An error response: CreateFunction without a role.
    let functions = "/2015-03-31/functions/";
    let invalid = json!({ "FunctionName": "x" });
    s.call(app, ("POST", functions), functions, Some(invalid), 400)
        .await;
    s.call(app, ("GET", functions), functions, None, 200).await;
    s.call(
        app,
        ("GET", "/2015-03-31/functions"),
        "/2015-03-31/functions",
        None,
        200,
    )
    .await;
    s.call(app, ("GET", f), "/2015-03-31/functions/swept", None, 200)
        .await;
    let missing = "/2015-03-31/functions/nosuchfunction";
    s.call(app, ("GET", f), missing, None, 404).await;
    let configuration = "/2015-03-31/functions/{name}/configuration";
    let uri = "/2015-03-31/functions/swept/configuration";
    s.call(app, ("GET", configuration), uri, None, 200).await;
    let changed = json!({ "Description": "swept" });
    s.call(app, ("PUT", configuration), uri, Some(changed), 200).await;
    settled(app, "swept").await;
    let code = json!({ "ZipFile": b64(&hello) });
    let uri = "/2015-03-31/functions/swept/code";
    s.call(
        app,
        ("PUT", "/2015-03-31/functions/{name}/code"),
        uri,
        Some(code),
        200,
    )
    .await;
    settled(app, "swept").await;

    // Versions and aliases.
    let versions = "/2015-03-31/functions/{name}/versions";
    let uri = "/2015-03-31/functions/swept/versions";
    s.call(app, ("POST", versions), uri, Some(json!({})), 201).await;
    s.call(app, ("GET", versions), uri, None, 200).await;
    let aliases = "/2015-03-31/functions/{name}/aliases";
    let uri = "/2015-03-31/functions/swept/aliases";
    let live = json!({ "Name": "live", "FunctionVersion": "1" });
    s.call(app, ("POST", aliases), uri, Some(live), 201).await;
    s.call(app, ("GET", aliases), uri, None, 200).await;
    let alias = "/2015-03-31/functions/{name}/aliases/{alias}";
    let uri = "/2015-03-31/functions/swept/aliases/live";
    s.call(app, ("GET", alias), uri, None, 200).await;
    let described = json!({ "Description": "live" });
    s.call(app, ("PUT", alias), uri, Some(described), 200).await;

    // Concurrency, provisioned concurrency, runtime management.
    let reserved = "/2017-10-31/functions/{name}/concurrency";
    let uri = "/2017-10-31/functions/swept/concurrency";
    let five = json!({ "ReservedConcurrentExecutions": 5 });
    s.call(app, ("PUT", reserved), uri, Some(five), 200).await;
    let uri = "/2019-09-30/functions/swept/concurrency";
    s.call(
        app,
        ("GET", "/2019-09-30/functions/{name}/concurrency"),
        uri,
        None,
        200,
    )
    .await;
    let uri = "/2017-10-31/functions/swept/concurrency";
    s.call(app, ("DELETE", reserved), uri, None, 204).await;
    let provisioned = "/2019-09-30/functions/{name}/provisioned-concurrency";
    let uri = "/2019-09-30/functions/swept/provisioned-concurrency?Qualifier=live";
    let one = json!({ "ProvisionedConcurrentExecutions": 1 });
    s.call(app, ("PUT", provisioned), uri, Some(one), 202).await;
    s.call(app, ("GET", provisioned), uri, None, 200).await;
    let list = "/2019-09-30/functions/swept/provisioned-concurrency?List=ALL";
    s.call(app, ("GET", provisioned), list, None, 200).await;
    s.call(app, ("DELETE", provisioned), uri, None, 204).await;
    let runtime = "/2021-07-20/functions/{name}/runtime-management-config";
    let uri = "/2021-07-20/functions/swept/runtime-management-config";
    s.call(app, ("GET", runtime), uri, None, 200).await;
    let auto = json!({ "UpdateRuntimeOn": "Auto" });
    s.call(app, ("PUT", runtime), uri, Some(auto), 200).await;
    let configs = "/2020-04-22/code-signing-configs";
    let profile = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/abc";
    let publishers = json!({ "AllowedPublishers": { "SigningProfileVersionArns": [profile] } });
    let created = s
        .call(app, ("POST", configs), configs, Some(publishers), 201)
        .await;
    let csc = created["CodeSigningConfig"]["CodeSigningConfigArn"]
        .as_str()
        .expect("a code signing config ARN")
        .to_string();
    let configs = "/2020-04-22/code-signing-configs/";
    s.call(app, ("GET", configs), configs, None, 200).await;
    // An error response: no AllowedPublishers.
    s.call(app, ("POST", configs), configs, Some(json!({})), 400)
        .await;
    let config = "/2020-04-22/code-signing-configs/{arn}";
    let config_uri = format!("{configs}{csc}");
    s.call(app, ("GET", config), &config_uri, None, 200).await;
    let enforce = json!({ "CodeSigningPolicies": { "UntrustedArtifactOnDeployment": "Enforce" } });
    s.call(app, ("PUT", config), &config_uri, Some(enforce), 200)
        .await;
    let signing = "/2020-06-30/functions/{name}/code-signing-config";
    let uri = "/2020-06-30/functions/swept/code-signing-config";
    s.call(app, ("GET", signing), uri, None, 200).await;
    let arn = json!({ "CodeSigningConfigArn": csc });
    s.call(app, ("PUT", signing), uri, Some(arn), 200).await;
    let used_by = "/2020-04-22/code-signing-configs/{arn}/functions";
    let listed = s
        .call(
            app,
            ("GET", used_by),
            &format!("{config_uri}/functions"),
            None,
            200,
        )
        .await;
    assert_eq!(
        listed["FunctionArns"],
        json!(["arn:aws:lambda:us-east-1:000000000000:function:swept"])
    );
    s.call(app, ("DELETE", signing), uri, None, 204).await;
    s.call(app, ("DELETE", config), &config_uri, None, 204).await;
    let configs = "/2020-04-22/code-signing-configs";
    s.call(app, ("GET", configs), configs, None, 200).await;
    let recursion = "/2024-08-31/functions/{name}/recursion-config";
    let uri = "/2024-08-31/functions/swept/recursion-config";
    s.call(app, ("GET", recursion), uri, None, 200).await;
    let allow = json!({ "RecursiveLoop": "Allow" });
    s.call(app, ("PUT", recursion), uri, Some(allow), 200).await;

    // Tags and policies.
    let tags = "/2017-03-31/tags/{arn}";
    let uri = "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:swept";
    let team = json!({ "Tags": { "team": "core" } });
    s.call(app, ("POST", tags), uri, Some(team), 204).await;
    s.call(app, ("GET", tags), uri, None, 200).await;
    let untag = format!("{uri}?tagKeys=team");
    s.call(app, ("DELETE", tags), &untag, None, 204).await;
    let policy = "/2015-03-31/functions/{name}/policy";
    let uri = "/2015-03-31/functions/swept/policy";
    let statement = json!({ "StatementId": "s1", "Action": "lambda:InvokeFunction", "Principal": "*" });
    s.call(app, ("POST", policy), uri, Some(statement), 201).await;
    s.call(app, ("GET", policy), uri, None, 200).await;
    let remove = "/2015-03-31/functions/{name}/policy/{statement_id}";
    let uri = "/2015-03-31/functions/swept/policy/s1";
    s.call(app, ("DELETE", remove), uri, None, 204).await;

    // Event source mappings: none, and none can be made.
    for mappings in [
        "/2015-03-31/event-source-mappings",
        "/2015-03-31/event-source-mappings/",
    ] {
        s.call(app, ("GET", mappings), mappings, None, 200).await;
        s.call(app, ("POST", mappings), mappings, Some(json!({})), 400)
            .await;
    }
    let mapping = "/2015-03-31/event-source-mappings/{uuid}";
    let uri = "/2015-03-31/event-source-mappings/no-such-mapping";
    for method in ["GET", "PUT", "DELETE"] {
        s.call(app, (method, mapping), uri, None, 404).await;
    }

    // Event-invoke configs.
    let events = "/2019-09-25/functions/{name}/event-invoke-config";
    let uri = "/2019-09-25/functions/swept/event-invoke-config";
    let retries = json!({ "MaximumRetryAttempts": 1 });
    s.call(app, ("PUT", events), uri, Some(retries), 200).await;
    let retries = json!({ "MaximumRetryAttempts": 0 });
    s.call(app, ("POST", events), uri, Some(retries), 200).await;
    s.call(app, ("GET", events), uri, None, 200).await;
    let list = "/2019-09-25/functions/{name}/event-invoke-config/list";
    let list_uri = "/2019-09-25/functions/swept/event-invoke-config/list";
    s.call(app, ("GET", list), list_uri, None, 200).await;
    s.call(app, ("DELETE", events), uri, None, 204).await;

    // Function URL configs.
    let url = "/2021-10-31/functions/{name}/url";
    let uri = "/2021-10-31/functions/swept/url";
    let none = json!({ "AuthType": "NONE" });
    let config = s.call(app, ("POST", url), uri, Some(none.clone()), 201).await;
    s.call(app, ("GET", url), uri, None, 200).await;
    s.call(app, ("PUT", url), uri, Some(none), 200).await;
    let uri = "/2021-10-31/functions/swept/urls";
    s.call(app, ("GET", "/2021-10-31/functions/{name}/urls"), uri, None, 200)
        .await;

    // Layers.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file("greeting.txt", zip::write::SimpleFileOptions::default())
        .expect("zip");
    std::io::Write::write_all(&mut writer, b"hi").expect("zip");
    let layer = writer.finish().expect("zip").into_inner();
    let content = json!({ "Content": { "ZipFile": b64(&layer) } });
    let versions = "/2018-10-31/layers/{name}/versions";
    let uri = "/2018-10-31/layers/swept/versions";
    s.call(app, ("POST", versions), uri, Some(content), 201).await;
    s.call(app, ("GET", versions), uri, None, 200).await;
    s.call(
        app,
        ("GET", "/2018-10-31/layers"),
        "/2018-10-31/layers",
        None,
        200,
    )
    .await;
    s.call(
        app,
        ("GET", "/2018-10-31/layers/"),
        "/2018-10-31/layers/",
        None,
        200,
    )
    .await;
    let version = "/2018-10-31/layers/{name}/versions/{number}";
    let uri = "/2018-10-31/layers/swept/versions/1";
    s.call(app, ("GET", version), uri, None, 200).await;
    let policy = "/2018-10-31/layers/{name}/versions/{number}/policy";
    let policy_uri = format!("{uri}/policy");
    let grant = json!({ "StatementId": "s", "Action": "lambda:GetLayerVersion", "Principal": "*" });
    s.call(app, ("POST", policy), &policy_uri, Some(grant), 201).await;
    s.call(app, ("GET", policy), &policy_uri, None, 200).await;
    let statement = "/2018-10-31/layers/{name}/versions/{number}/policy/{statement_id}";
    s.call(app, ("DELETE", statement), &format!("{policy_uri}/s"), None, 204)
        .await;
    s.call(app, ("DELETE", version), uri, None, 204).await;

    // Invoke: each invocation type; InvokeWithResponseStream.
    let invocations = ("POST", "/2015-03-31/functions/{name}/invocations");
    let uri = "/2015-03-31/functions/swept/invocations";
    for (kind, status) in [
        ("RequestResponse", StatusCode::OK),
        ("Event", StatusCode::ACCEPTED),
        ("DryRun", StatusCode::NO_CONTENT),
    ] {
        let invoke = request("POST", uri, &[("x-amz-invocation-type", kind)], Body::from("{}"));
        s.hit(app, invocations, invoke, Some(status)).await;
    }
    // Over the Event payload limit: a 413 in the AWS format.
    let big = format!("\"{}\"", "x".repeat(FrontDoor::default().async_max_payload));
    let invoke = request(
        "POST",
        uri,
        &[("x-amz-invocation-type", "Event")],
        Body::from(big),
    );
    s.hit(app, invocations, invoke, Some(StatusCode::PAYLOAD_TOO_LARGE))
        .await;
    let streaming = (
        "POST",
        "/2021-11-15/functions/{name}/response-streaming-invocations",
    );
    let uri = "/2021-11-15/functions/swept/response-streaming-invocations";
    let invoke = request("POST", uri, &[], Body::from("{}"));
    s.hit(app, streaming, invoke, Some(StatusCode::OK)).await;

    // Function URLs: by path (each of the three routes), by Host, and an unknown one (403).
    let id = url_id(&config);
    for (route, uri) in [
        ("/lambda-url/{url_id}", format!("/lambda-url/{id}")),
        ("/lambda-url/{url_id}/", format!("/lambda-url/{id}/")),
        (
            "/lambda-url/{url_id}/{*rest}",
            format!("/lambda-url/{id}/a/b?c=d"),
        ),
    ] {
        let get = request("GET", &uri, &[], Body::empty());
        s.hit(app, ("ANY", route), get, Some(StatusCode::OK)).await;
    }
    let host = format!("{id}.lambda-url.us-east-1.localhost:9001");
    let by_host = request("GET", "/anything", &[("host", &host)], Body::empty());
    s.hit(app, ("url_gateway::by_host", ""), by_host, Some(StatusCode::OK))
        .await;
    let unknown = request("GET", "/lambda-url/nosuchurl/", &[], Body::empty());
    let route = ("ANY", "/lambda-url/{url_id}/");
    s.hit(app, route, unknown, Some(StatusCode::FORBIDDEN)).await;

    // CloudWatch Logs, by X-Amz-Target on POST /.
    let describe = request(
        "POST",
        "/",
        &[("x-amz-target", "Logs_20140328.DescribeLogGroups")],
        Body::from("{}"),
    );
    s.hit(app, ("POST", "/"), describe, Some(StatusCode::OK)).await;

    // The fallback, a method no route has, and a body over the server's limit.
    let nowhere = request("GET", "/no/such/operation", &[], Body::empty());
    s.hit(app, ("fallback", ""), nowhere, Some(StatusCode::NOT_FOUND))
        .await;
    let patch = request("PATCH", "/2015-03-31/functions", &[], Body::empty());
    s.hit(app, ("method not allowed", ""), patch, None).await;
    let huge = Body::from(vec![b' '; lambkin_api::server::MAX_BODY_BYTES + 1]);
    let huge = request("POST", "/2015-03-31/functions", &[], huge);
    s.hit(
        app,
        ("POST", "/2015-03-31/functions"),
        huge,
        Some(StatusCode::PAYLOAD_TOO_LARGE),
    )
    .await;

    // Deletes last.
    s.call(app, ("DELETE", url), "/2021-10-31/functions/swept/url", None, 204)
        .await;
    let uri = "/2015-03-31/functions/swept/aliases/live";
    s.call(app, ("DELETE", alias), uri, None, 204).await;
    s.call(app, ("DELETE", f), "/2015-03-31/functions/swept", None, 204)
        .await;

    // The auth middleware's refusal, on a server that wants signatures.
    let signed = tempfile::tempdir().expect("tempdir");
    let credentials = lambkin_api::auth::Credentials::from_shared_file(
        "[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n",
    )
    .expect("credentials");
    let (_, guarded) = app_with(
        signed.path(),
        Settings {
            credentials,
            ..Settings::default()
        },
    )
    .await;
    let unsigned = request("GET", "/2015-03-31/functions", &[], Body::empty());
    s.hit(
        &guarded,
        ("auth::require_signature", ""),
        unsigned,
        Some(StatusCode::FORBIDDEN),
    )
    .await;

    // Every route the routers register was swept; every route swept is one they register.
    let registered = registered_routes();
    assert!(registered.len() > 40, "the routers were read: {registered:?}");
    let swept = |(method, path): &(String, String)| {
        sweep.covered.contains(&(method.clone(), path.clone()))
            || (method == "ANY" && sweep.covered.iter().any(|(_, p)| p == path))
    };
    let missed: Vec<_> = registered.iter().filter(|route| !swept(route)).collect();
    assert!(missed.is_empty(), "routes the sweep missed: {missed:?}");
    let unknown: Vec<_> = sweep
        .covered
        .iter()
        .filter(|(method, path)| {
            path.starts_with('/')
                && !registered.contains(&(method.clone(), path.clone()))
                && !registered.contains(&("ANY".to_string(), path.clone()))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "swept routes no router registers: {unknown:?}"
    );
}

/// The request ids of a Lambda log's START, END and REPORT lines, in that order.
fn log_ids(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|line| {
            let (kind, rest) = line.split_once(" RequestId: ")?;
            ["START", "END", "REPORT"].contains(&kind).then(|| {
                let id = rest.split_whitespace().next().unwrap_or_default();
                (kind.to_string(), id.to_string())
            })
        })
        .collect()
}

fn assert_log_names(log: &str, id: &str) {
    let expected: Vec<_> = ["START", "END", "REPORT"]
        .iter()
        .map(|kind| (kind.to_string(), id.to_string()))
        .collect();
    assert_eq!(log_ids(log), expected, "{log}");
}

fn unbase64(text: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    String::from_utf8(bytes).expect("UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_runs_under_the_id_its_response_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, app) = app_with(dir.path(), Settings::default()).await;
    deploy(&app, "hello", "hello").await;
    deploy(&app, "echo", "echo").await;

    // The log tail, cold and warm; an id the client sends is not taken for the server's.
    let client_id = "00000000-0000-4000-8000-000000000000";
    let headers = [("x-amz-log-type", "Tail"), ("x-amzn-RequestId", client_id)];
    for _ in 0..2 {
        let uri = "/2015-03-31/functions/hello/invocations";
        let invoke = request("POST", uri, &headers, Body::from("{}"));
        let (status, headers, _) = send(&app, invoke).await;
        assert_eq!(status, StatusCode::OK);
        let log = unbase64(
            headers
                .get("x-amz-log-result")
                .and_then(|v| v.to_str().ok())
                .expect("X-Amz-Log-Result"),
        );
        let id = request_id(&headers);
        assert_ne!(id, client_id);
        assert_log_names(&log, &id);
    }

    // The guest's context.
    let uri = "/2015-03-31/functions/echo/invocations";
    let invoke = request("POST", uri, &[], Body::from("{}"));
    let (status, headers, body) = send(&app, invoke).await;
    assert_eq!(status, StatusCode::OK);
    let echoed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(echoed["context"]["requestId"], request_id(&headers), "{echoed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_stream_runs_under_the_id_its_response_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, app) = app_with(dir.path(), Settings::default()).await;
    deploy(&app, "hello", "hello").await;
    let uri = "/2021-11-15/functions/hello/response-streaming-invocations";
    let invoke = request("POST", uri, &[("x-amz-log-type", "Tail")], Body::from("{}"));
    let (status, headers, body) = send(&app, invoke).await;
    assert_eq!(status, StatusCode::OK);
    let events = support::event_stream(body);
    let (_, complete) = events
        .iter()
        .find(|(kind, _)| kind == "InvokeComplete")
        .expect("InvokeComplete");
    let complete: Value = serde_json::from_slice(complete).expect("JSON");
    let log = unbase64(complete["LogResult"].as_str().expect("LogResult"));
    assert_log_names(&log, &request_id(&headers));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_url_event_names_the_id_of_its_response() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, app) = app_with(dir.path(), Settings::default()).await;
    deploy(&app, "web", "http").await;
    let create = request(
        "POST",
        "/2021-10-31/functions/web/url",
        &[],
        Body::from(json!({ "AuthType": "NONE" }).to_string()),
    );
    let (status, _, config) = send(&app, create).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = url_id(&serde_json::from_slice(&config).expect("JSON"));
    let host = format!("{id}.lambda-url.us-east-1.localhost");
    // `/inspect` answers the payload format 2.0 event it was given; by path and by Host.
    for inspect in [
        request("GET", &format!("/lambda-url/{id}/inspect"), &[], Body::empty()),
        request("GET", "/inspect", &[("host", &host)], Body::empty()),
    ] {
        let (status, headers, body) = send(&app, inspect).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let event: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            event["requestContext"]["requestId"],
            request_id(&headers),
            "{event}"
        );
        // The id travels in the event's context, not as a request header the function sees.
        let headers = event["headers"].as_object().expect("headers");
        assert!(!headers.contains_key("x-amzn-requestid"), "{event}");
    }
}

/// Receives invocation records on a loopback port; its URL and the records as they come.
async fn webhook() -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (records, received) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/",
        axum::routing::post(move |body: Bytes| async move {
            let _ = records.send(serde_json::from_slice(&body).expect("a JSON record"));
            StatusCode::OK
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("webhook") });
    (format!("http://{address}/"), received)
}

/// Lines the server logged in this test binary, as `lambkin serve` writes them (no colour).
static LOGGED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Captured;

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGGED.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        tracing_subscriber::fmt()
            .with_writer(|| Captured)
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .init();
    });
}

/// Waits (bounded) for a logged line with `message` and `request_id=<id>`; returns it.
async fn logged_line(message: &str, id: &str) -> String {
    let field = format!("request_id={id}");
    let deadline = Instant::now() + BOUND;
    loop {
        let text = String::from_utf8_lossy(&LOGGED.lock().expect("log")).into_owned();
        let found = text.lines().find(|l| l.contains(message) && l.contains(&field));
        if let Some(line) = found {
            return line.to_string();
        }
        let near: Vec<_> = text.lines().filter(|l| l.contains(message)).collect();
        assert!(
            Instant::now() < deadline,
            "no {message:?} line with {field}: {near:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_delivered_under_the_id_of_its_202() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        async_settings: AsyncSettings {
            time_scale: 0.001,
            workers: 4,
        },
        ..Settings::default()
    };
    let (_, app) = app_with(dir.path(), settings).await;
    deploy(&app, "echo", "echo").await;
    deploy(&app, "failing", "fail").await;
    let (destination, mut records) = webhook().await;
    let configs = [
        (
            "echo",
            json!({ "DestinationConfig": { "OnSuccess": { "Destination": destination } } }),
        ),
        ("failing", json!({ "MaximumRetryAttempts": 0 })),
    ];
    for (name, config) in configs {
        let uri = format!("/2019-09-25/functions/{name}/event-invoke-config");
        let put = request("PUT", &uri, &[], Body::from(config.to_string()));
        let (status, _, body) = send(&app, put).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
    let event = |name: &str| {
        let uri = format!("/2015-03-31/functions/{name}/invocations");
        request(
            "POST",
            &uri,
            &[("x-amz-invocation-type", "Event")],
            Body::from(r#"{"n":1}"#),
        )
    };

    // The OnSuccess record names the 202's id, and so did the guest's context.
    let (status, headers, _) = send(&app, event("echo")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = request_id(&headers);
    let record = tokio::time::timeout(BOUND, records.recv())
        .await
        .expect("a record within the bound")
        .expect("a record");
    assert_eq!(record["requestContext"]["condition"], "Success", "{record}");
    assert_eq!(record["requestContext"]["requestId"], id.as_str(), "{record}");
    assert_eq!(
        record["responsePayload"]["context"]["requestId"],
        id.as_str(),
        "{record}"
    );

    // A delivery's own log line carries the id through the delivery's span.
    let (status, headers, _) = send(&app, event("failing")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = request_id(&headers);
    let line = logged_line("asynchronous event discarded", &id).await;
    assert!(line.contains("delivery{"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_made_while_handling_a_request_carry_its_id() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    // A stream cap smaller than one chunk: the streamed URL response is cut off, with a warning
    // logged by the task that relays the function's stream, after the handler has returned.
    let settings = Settings {
        front_door: FrontDoor {
            stream_max_bytes: 4,
            ..FrontDoor::default()
        },
        ..Settings::default()
    };
    let (_, app) = app_with(dir.path(), settings).await;
    deploy(&app, "web", "http").await;
    let config = json!({ "AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM" });
    let create = request(
        "POST",
        "/2021-10-31/functions/web/url",
        &[],
        Body::from(config.to_string()),
    );
    let (status, _, config) = send(&app, create).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = url_id(&serde_json::from_slice(&config).expect("JSON"));

    let mut ids = Vec::new();
    for _ in 0..2 {
        let uri = format!("/lambda-url/{id}/stream?chunks=2&pause_ms=0");
        let response = app
            .clone()
            .oneshot(request("GET", &uri, &[], Body::empty()))
            .await
            .expect("response");
        let response_id = request_id(response.headers());
        // The body breaks off at the cap.
        let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        let line = logged_line("cut off", &response_id).await;
        assert!(line.contains("request{"), "{line}");
        ids.push(response_id);
    }
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn the_server_log_has_no_colour_codes_when_stderr_is_not_a_terminal() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env_remove("LAMBKIN_LOG")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lambkin serve");
    let stderr = server.stderr.take().expect("stderr");
    let (lines, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let serving = loop {
        match read.recv_timeout(BOUND) {
            Ok(line) if line.contains("lambkin serving") => break Ok(line),
            Ok(_) => continue,
            Err(e) => break Err(e),
        }
    };
    let _ = server.kill();
    let _ = server.wait();
    let serving = serving.expect("the serving line within the bound");
    assert!(!serving.contains('\u{1b}'), "{serving:?}");
}
