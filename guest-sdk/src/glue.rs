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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HandlerError;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Order {
        qty: u32,
    }

    fn double(order: Order, ctx: &Context) -> Result<serde_json::Value, Error> {
        if order.qty == 0 {
            return Err(HandlerError::new("EmptyOrder", "nothing to do").into());
        }
        if order.qty > 100 {
            return Err("too many".into());
        }
        Ok(serde_json::json!({ "qty": order.qty * 2, "id": ctx.request_id }))
    }

    fn wit_context(id: &str) -> WitContext {
        WitContext {
            request_id: id.into(),
            deadline_ms: 0,
            invoked_function_arn: String::new(),
            function_name: "f".into(),
            function_version: "$LATEST".into(),
            memory_limit_mb: 128,
            log_group_name: String::new(),
            log_stream_name: String::new(),
            client_context: None,
            identity: None,
            trace_id: None,
        }
    }

    #[test]
    fn json_in_json_out() {
        let out = run_handle(double, br#"{"qty":21}"#.to_vec(), wit_context("r1")).expect("ok");
        assert_eq!(out, br#"{"id":"r1","qty":42}"#);
    }

    #[test]
    fn errors_keep_their_type() {
        let e = run_handle(double, br#"{"qty":0}"#.to_vec(), wit_context("r")).unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            ("EmptyOrder", "nothing to do")
        );
        let e = run_handle(double, br#"{"qty":101}"#.to_vec(), wit_context("r")).unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            ("Error", "too many")
        );
    }

    #[test]
    fn an_event_of_the_wrong_shape_is_an_unmarshal_error() {
        let e = run_handle(double, br#"{"qty":"many"}"#.to_vec(), wit_context("r")).unwrap_err();
        assert_eq!(e.error_type, "Runtime.UnmarshalError");
        let e = run_handle(double, b"not json".to_vec(), wit_context("r")).unwrap_err();
        assert_eq!(e.error_type, "Runtime.UnmarshalError");
    }

    #[test]
    fn a_streaming_handler_sends_no_trailing_null() {
        fn streamer(_: serde_json::Value, _: &Context) -> Result<(), Error> {
            use std::io::Write;
            write!(crate::stream(), "part {}", 1)?;
            Ok(())
        }
        let out = run_handle(streamer, b"{}".to_vec(), wit_context("r")).expect("ok");
        assert!(out.is_empty());
        assert_eq!(crate::ResponseStream::take_written(), b"part 1");
    }

    #[test]
    fn init_runs_the_users_init() {
        fn refuse() -> Result<(), Error> {
            Err(HandlerError::new("Init.Refused", "no").into())
        }
        assert!(run_init(None).is_ok());
        assert_eq!(run_init(Some(refuse)).unwrap_err().error_type, "Init.Refused");
    }
}
