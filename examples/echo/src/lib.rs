//! echo: returns its event, its context and its environment variables, unchanged.

use serde_json::{Value, json};

#[lambkin::handler]
pub fn echo(event: Value, ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let environment: serde_json::Map<String, Value> =
        std::env::vars().map(|(k, v)| (k, Value::String(v))).collect();
    Ok(json!({ "event": event, "context": ctx, "environment": environment }))
}
