//! The invocation context, as Lambda's runtimes hand it to a handler.

use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the function knows about the invocation it is serving.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    pub request_id: String,
    /// The invocation's deadline in milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    pub invoked_function_arn: String,
    pub function_name: String,
    pub function_version: String,
    pub memory_limit_mb: u32,
    pub log_group_name: String,
    pub log_stream_name: String,
    /// The caller's client context (JSON text), from `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    /// The caller's Cognito identity (JSON text).
    pub identity: Option<String>,
    /// The X-Ray trace header of this invocation.
    pub xray_trace_id: Option<String>,
}

impl Context {
    /// Time left before the invocation times out (zero once it has passed).
    pub fn remaining_time(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        Duration::from_millis(self.deadline_ms.saturating_sub(now))
    }
}

impl From<crate::bindings::Context> for Context {
    fn from(c: crate::bindings::Context) -> Self {
        Context {
            request_id: c.request_id,
            deadline_ms: c.deadline_ms,
            invoked_function_arn: c.invoked_function_arn,
            function_name: c.function_name,
            function_version: c.function_version,
            memory_limit_mb: c.memory_limit_mb,
            log_group_name: c.log_group_name,
            log_stream_name: c.log_stream_name,
            client_context: c.client_context,
            identity: c.identity,
            xray_trace_id: c.trace_id,
        }
    }
}
