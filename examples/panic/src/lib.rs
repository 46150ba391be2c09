//! panic: panics; the caller sees the panic message, the host carries on.

use serde_json::Value;

#[lambkin::handler]
pub fn explode(_event: Value, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    panic!("the function panicked on purpose");
}
