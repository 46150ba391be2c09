//! Between the WIT exports and the user's functions: JSON in and out, errors, panics.

use crate::bindings::{Context as WitContext, FunctionError};
use crate::{Context, Error, error, stream};
use serde::{Serialize, de::DeserializeOwned};

/// Runs the user's init function (if any) in the Init phase.
pub fn run_init(init: Option<fn() -> Result<(), Error>>) -> Result<(), FunctionError> {
    install_panic_hook();
    match init {
        Some(init) => init().map_err(|e| to_wit(&e)),
        None => Ok(()),
    }
}

/// Decodes the event, calls the handler, encodes its result.
pub fn run_handle<E, R, F>(handler: F, event: Vec<u8>, ctx: WitContext) -> Result<Vec<u8>, FunctionError>
where
    E: DeserializeOwned,
    R: Serialize,
    F: Fn(E, &Context) -> Result<R, Error>,
{
    install_panic_hook();
    stream::take_streamed();
    let event: E = serde_json::from_slice(&event).map_err(|e| FunctionError {
        error_type: "Runtime.UnmarshalError".into(),
        error_message: format!("Unable to unmarshal input: {e}"),
        stack_trace: Vec::new(),
    })?;
    let ctx = Context::from(ctx);
    let response = handler(event, &ctx).map_err(|e| to_wit(&e))?;
    let body = serde_json::to_vec(&response).map_err(|e| FunctionError {
        error_type: "Runtime.MarshalError".into(),
        error_message: format!("Unable to marshal response: {e}"),
        stack_trace: Vec::new(),
    })?;
    // A streaming handler returns `()`: what it wrote is the response, not a trailing `null`.
    if stream::take_streamed() && body == b"null" {
        return Ok(Vec::new());
    }
    Ok(body)
}

fn to_wit(error: &Error) -> FunctionError {
    let (error_type, error_message) = error::describe(error);
    FunctionError {
        error_type,
        error_message,
        stack_trace: Vec::new(),
    }
}

/// On wasm a panic aborts (there is no unwinding), so the hook hands the message to the host first.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let message = info.to_string();
                eprintln!("{message}");
                crate::bindings::lambkin::function::runtime::report_panic(&message);
            }));
        });
    }
}
