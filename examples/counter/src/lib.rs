//! counter: counts its invocations in a global, so callers can tell environments apart and see
//! reuse; `sleep_ms` holds the environment busy; `FAIL_INIT=1` makes Init fail;
//! `HOLD_FILE_IN_INIT=1` makes Init keep a file of /tmp open.

use lambkin::HandlerError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Invocations this environment has served.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// Chosen by Init: the same for every invocation of one environment, different across them.
static ENVIRONMENT: OnceLock<String> = OnceLock::new();
/// A file Init opened and keeps open, when asked to.
static HELD: OnceLock<std::fs::File> = OnceLock::new();

fn init() -> Result<(), lambkin::Error> {
    if std::env::var("FAIL_INIT").as_deref() == Ok("1") {
        return Err(HandlerError::new("CounterInitError", "Init refused on purpose").into());
    }
    if std::env::var("HOLD_FILE_IN_INIT").as_deref() == Ok("1") {
        let _ = HELD.set(std::fs::File::create("/tmp/held-by-init")?);
    }
    // The log stream names the environment uniquely.
    let id = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default();
    let _ = ENVIRONMENT.set(id);
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Event {
    pub sleep_ms: u64,
}

#[lambkin::handler(init = init)]
pub fn counter(event: Event, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let count = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
    if event.sleep_ms > 0 {
        std::thread::sleep(Duration::from_millis(event.sleep_ms));
    }
    Ok(json!({
        "count": count,
        "environment": ENVIRONMENT.get(),
        "initializationType": std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").ok(),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_invocations_natively() {
        let ctx = lambkin::Context::default();
        let first = super::counter(super::Event::default(), &ctx).unwrap();
        let second = super::counter(super::Event::default(), &ctx).unwrap();
        assert_eq!(second["count"].as_u64(), first["count"].as_u64().map(|n| n + 1));
    }
}
