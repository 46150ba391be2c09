//! panic: panics (or, with {"how":"overflow"}, overflows its stack); the caller sees why, the host
//! carries on.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Event {
    pub how: Option<String>,
}

#[lambkin::handler]
pub fn explode(event: Event, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    if event.how.as_deref() == Some("overflow") {
        return Ok(Value::from(recurse(1)));
    }
    panic!("the function panicked on purpose");
}

/// Recursion with no end, each frame kept alive by the addition after the call.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))).wrapping_add(depth)
}
