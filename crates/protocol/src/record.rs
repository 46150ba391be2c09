//! The invocation record asynchronous destinations receive (seed 003, "Configuring destinations
//! for asynchronous invocation"): the host writes it, a function named as a destination reads it
//! as its event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The record of one asynchronous invocation.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InvocationRecord {
    /// `1.0`.
    pub version: String,
    /// When the record was made, e.g. `2019-11-14T18:16:05.568Z`.
    pub timestamp: String,
    pub request_context: RequestContext,
    /// The event as invoked: JSON, or a string when it was not JSON.
    #[serde(default)]
    pub request_payload: Value,
    pub response_context: ResponseContext,
    /// What the function answered (the [`HandlerError`](crate::HandlerError) object when it
    /// failed); `null` when it never ran.
    #[serde(default)]
    pub response_payload: Value,
}

/// `requestContext`: which invocation, and why the record was sent.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub request_id: String,
    pub function_arn: String,
    pub condition: Condition,
    /// Attempts made, the first one included.
    pub approximate_invoke_count: u32,
}

/// `responseContext`: how the last attempt ended.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    /// 200 when the function ran (failing or not), 429 when every attempt was throttled.
    pub status_code: u16,
    /// The version that ran; absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_version: Option<String>,
    /// `Unhandled` when the function failed; absent when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_error: Option<String>,
}

/// Why a record is sent.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Success,
    /// Every attempt the event-invoke config allows failed.
    RetriesExhausted,
    /// The event was older than MaximumEventAgeInSeconds when its turn came.
    EventAgeExceeded,
    /// Reserved concurrency 0: the event goes to the on-failure destination without running.
    ZeroReservedConcurrency,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
            Condition::ZeroReservedConcurrency => "ZeroReservedConcurrency",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HandlerError;
    use serde_json::json;

    #[test]
    fn a_failure_record_reads_with_its_error() {
        let value = json!({
            "version": "1.0",
            "timestamp": "2019-11-14T18:16:05.568Z",
            "requestContext": {
                "requestId": "id-1",
                "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": {"order": 42},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "InvalidInputError", "errorMessage": "no"},
        });
        let record: InvocationRecord = serde_json::from_value(value.clone()).expect("a record");
        assert_eq!(record.request_context.condition, Condition::RetriesExhausted);
        assert_eq!(
            record.response_context.function_error.as_deref(),
            Some("Unhandled")
        );
        let error: HandlerError = serde_json::from_value(record.response_payload.clone()).expect("error");
        assert_eq!(error, HandlerError::new("InvalidInputError", "no"));
        assert_eq!(serde_json::to_value(&record).expect("value"), value);
    }

    #[test]
    fn a_throttled_record_has_a_null_response() {
        let record = InvocationRecord {
            version: "1.0".into(),
            timestamp: "t".into(),
            request_context: RequestContext {
                request_id: "id".into(),
                function_arn: "arn".into(),
                condition: Condition::ZeroReservedConcurrency,
                approximate_invoke_count: 0,
            },
            request_payload: json!("not json"),
            response_context: ResponseContext {
                status_code: 429,
                executed_version: None,
                function_error: None,
            },
            response_payload: Value::Null,
        };
        let value = serde_json::to_value(&record).expect("value");
        assert_eq!(value["responseContext"], json!({"statusCode": 429}));
        assert_eq!(value["responsePayload"], Value::Null);
        assert_eq!(value["requestContext"]["condition"], "ZeroReservedConcurrency");
        for condition in [
            Condition::Success,
            Condition::RetriesExhausted,
            Condition::EventAgeExceeded,
        ] {
            assert_eq!(
                serde_json::to_value(condition).expect("value"),
                condition.as_str()
            );
        }
    }
}
