//! The invocation record destinations receive (seed 003, "Configuring destinations for
//! asynchronous invocation"), built from `lambkin-protocol`'s types, which a Rust destination
//! function reads it with: version, timestamp, requestContext (requestId, functionArn,
//! condition, approximateInvokeCount), requestPayload, responseContext, responsePayload.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use lambkin_protocol::record::{InvocationRecord, RequestContext, ResponseContext};
use lambkin_sandbox::FunctionError;

pub use lambkin_protocol::record::Condition;

/// What one attempt answered: the record's `responseContext` and `responsePayload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    pub executed_version: String,
    pub function_error: bool,
    /// The response (or the error object) as JSON.
    pub payload: Value,
}

impl AttemptResponse {
    pub fn new(executed_version: String, result: &Result<Vec<u8>, FunctionError>) -> AttemptResponse {
        let (function_error, payload) = match result {
            Ok(bytes) => (false, as_json(bytes)),
            Err(error) => (true, error.to_json()),
        };
        AttemptResponse {
            executed_version,
            function_error,
            payload,
        }
    }
}

/// A response is JSON as functions return it; anything else travels as a string.
fn as_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The record of one asynchronous invocation.
pub fn invocation_record(
    request_id: &str,
    function_arn: &str,
    condition: Condition,
    approximate_invoke_count: u32,
    request_payload: &str,
    response: Option<&AttemptResponse>,
) -> Value {
    let (response_context, response_payload) = match response {
        Some(response) => (
            ResponseContext {
                status_code: 200,
                executed_version: Some(response.executed_version.clone()),
                function_error: response.function_error.then(|| "Unhandled".to_string()),
            },
            response.payload.clone(),
        ),
        // Nothing ran: every try was throttled (or reserved concurrency is 0).
        None => (
            ResponseContext {
                status_code: 429,
                executed_version: None,
                function_error: None,
            },
            Value::Null,
        ),
    };
    let record = InvocationRecord {
        version: "1.0".to_string(),
        timestamp: lambkin_registry::iso_timestamp(),
        request_context: RequestContext {
            request_id: request_id.to_string(),
            function_arn: function_arn.to_string(),
            condition,
            approximate_invoke_count,
        },
        request_payload: as_json(request_payload.as_bytes()),
        response_context,
        response_payload,
    };
    serde_json::to_value(record).expect("strings, numbers and JSON values always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failure_record_has_the_seeds_shape() {
        let error = FunctionError {
            error_type: "InvalidInputError".into(),
            error_message: "no".into(),
            stack_trace: vec![],
        };
        let response = AttemptResponse::new("$LATEST".into(), &Err(error));
        let record = invocation_record(
            "id-1",
            "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
            Condition::RetriesExhausted,
            3,
            r#"{"order":42}"#,
            Some(&response),
        );
        let timestamp = record["timestamp"].as_str().expect("timestamp").to_string();
        assert_eq!(timestamp.len(), "2019-11-14T18:16:05.568Z".len(), "{timestamp}");
        assert!(timestamp.ends_with('Z'));
        assert_eq!(
            record,
            json!({
                "version": "1.0",
                "timestamp": timestamp,
                "requestContext": {
                    "requestId": "id-1",
                    "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 3,
                },
                "requestPayload": {"order": 42},
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorType": "InvalidInputError", "errorMessage": "no"},
            })
        );
    }

    #[test]
    fn a_success_record_has_no_function_error_and_keeps_non_json_as_text() {
        let response = AttemptResponse::new("1".into(), &Ok(b"plain".to_vec()));
        let record = invocation_record("id", "arn", Condition::Success, 1, "{}", Some(&response));
        assert_eq!(
            record["responseContext"],
            json!({"statusCode": 200, "executedVersion": "1"})
        );
        assert_eq!(record["responsePayload"], json!("plain"));
    }

    #[test]
    fn a_throttled_record_has_status_429_and_no_payload() {
        let record = invocation_record("id", "arn", Condition::ZeroReservedConcurrency, 0, "x", None);
        assert_eq!(record["responseContext"], json!({"statusCode": 429}));
        assert_eq!(record["responsePayload"], Value::Null);
        assert_eq!(record["requestPayload"], json!("x"));
        assert_eq!(record["requestContext"]["condition"], "ZeroReservedConcurrency");
    }
}
