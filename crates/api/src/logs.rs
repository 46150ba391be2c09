//! CloudWatch Logs, the part users touch, on the Lambda API's listener: JSON 1.1 requests named by
//! `X-Amz-Target: Logs_20140328.<Operation>`, errors in that service's shape (`__type`). The
//! reads run on a blocking thread: they read segment files.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use lambkin_logs::{LogStore, LogsError};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::server::AppState;

mod operations;

const TARGET_PREFIX: &str = "Logs_20140328.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The `X-Amz-Target` prefix of CloudWatch Logs requests (signed for the `logs` service).
pub(crate) fn is_logs_request(headers: &HeaderMap) -> bool {
    target(headers).is_some()
}

fn target(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(TARGET_PREFIX))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/", post(dispatch))
}

/// A CloudWatch Logs error: its `__type` and message, always a 400 but for the store failing.
#[derive(Debug)]
pub(crate) struct LogsFault {
    kind: &'static str,
    message: String,
}

impl LogsFault {
    pub(crate) fn invalid(message: impl Into<String>) -> LogsFault {
        LogsFault {
            kind: "InvalidParameterException",
            message: message.into(),
        }
    }
}

impl From<LogsError> for LogsFault {
    fn from(e: LogsError) -> LogsFault {
        let kind = match &e {
            LogsError::GroupNotFound | LogsError::StreamNotFound => "ResourceNotFoundException",
            LogsError::GroupExists | LogsError::StreamExists => "ResourceAlreadyExistsException",
            LogsError::InvalidParameter(_) => "InvalidParameterException",
            LogsError::Io(_) => "ServiceUnavailableException",
        };
        LogsFault {
            kind,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for LogsFault {
    fn into_response(self) -> Response {
        let status = if self.kind == "ServiceUnavailableException" {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_REQUEST
        };
        let body = json!({"__type": self.kind, "message": self.message}).to_string();
        (
            status,
            [
                (header::CONTENT_TYPE, CONTENT_TYPE),
                (header::HeaderName::from_static("x-amzn-errortype"), self.kind),
            ],
            body,
        )
            .into_response()
    }
}

async fn dispatch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(operation) = target(&headers).map(str::to_string) else {
        return crate::ApiError::UnknownOperation(
            "lambkin does not implement POST / without an X-Amz-Target".into(),
        )
        .into_response();
    };
    let Some(store) = state.logs.clone() else {
        return LogsFault {
            kind: "ServiceUnavailableException",
            message: "this lambkin keeps no logs (serve --log-store off)".into(),
        }
        .into_response();
    };
    let arn_prefix = format!(
        "arn:aws:logs:{}:{}:log-group:",
        state.registry.region(),
        state.registry.account_id()
    );
    let answer = tokio::task::spawn_blocking(move || run(&store, &arn_prefix, &operation, &body)).await;
    match answer {
        Ok(Ok(value)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], value.to_string()).into_response(),
        Ok(Err(fault)) => fault.into_response(),
        Err(e) => LogsFault {
            kind: "ServiceUnavailableException",
            message: format!("the log store failed: {e}"),
        }
        .into_response(),
    }
}

fn run(store: &Arc<LogStore>, arn_prefix: &str, operation: &str, body: &[u8]) -> Result<Value, LogsFault> {
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| LogsFault {
            kind: "SerializationException",
            message: format!("the request body is not JSON: {e}"),
        })?
    };
    let ops = operations::Operations { store, arn_prefix };
    match operation {
        "DescribeLogGroups" => ops.describe_log_groups(parse(input)?),
        "DescribeLogStreams" => ops.describe_log_streams(parse(input)?),
        "GetLogEvents" => ops.get_log_events(parse(input)?),
        "FilterLogEvents" => ops.filter_log_events(parse(input)?),
        "CreateLogGroup" => ops.create_log_group(parse(input)?),
        "DeleteLogGroup" => ops.delete_log_group(parse(input)?),
        "PutRetentionPolicy" => ops.put_retention_policy(parse(input)?),
        "DeleteRetentionPolicy" => ops.delete_retention_policy(parse(input)?),
        "CreateLogStream" => ops.create_log_stream(parse(input)?),
        "PutLogEvents" => ops.put_log_events(parse(input)?),
        other => Err(LogsFault {
            kind: "UnknownOperationException",
            message: format!("lambkin does not implement the CloudWatch Logs operation {other}"),
        }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, LogsFault> {
    serde_json::from_value(input).map_err(|e| LogsFault::invalid(format!("1 validation error detected: {e}")))
}
