//! fail: returns a handled error with its own errorType.

use lambkin::HandlerError;
use serde_json::Value;

#[lambkin::handler]
pub fn fail(_event: Value, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    println!("about to fail on purpose");
    Err(HandlerError::new("InvalidInputError", "the event was refused on purpose").into())
}
