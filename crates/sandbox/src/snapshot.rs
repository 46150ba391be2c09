//! Snapshot start (the SnapStart analogue): a version's Init runs once, when the version
//! is published, and wasmtime-wizer writes the initialised instance's memories and globals back
//! into the component. Environments instantiated from that snapshot start where Init left off
//! (copy-on-write from the compiled image) and skip Init.
//!
//! As with Lambda SnapStart, what Init saw is frozen into the snapshot: values it read from its
//! environment (the log stream name, random seeds) are the same in every restored environment,
//! and WASI handles it held (an open file, a cached stdout stream) do not exist after a restore.

use std::sync::Arc;
use wasmtime::component::Val;
use wasmtime_wizer::Wizer;

use super::environment::{GRACE, Parts, arm};
use super::{ExecutionEnvironment, FunctionSpec, Initialization, PreparedFunction, Sandbox, SandboxError};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// Init failed: `errorType: errorMessage`.
    #[error("{0}")]
    Init(String),
    #[error("taking the snapshot: {0}")]
    Wizer(String),
}

impl Sandbox {
    /// Runs Init of `wasm` once, in an environment like the ones the snapshot will restore
    /// (`spec`'s variables, limits and layers), and returns the initialised component.
    /// Runs as a compile worker: it compiles, and its Init holds an instance of the engine's
    /// spares.
    pub async fn snapshot(&self, wasm: bytes::Bytes, spec: FunctionSpec) -> Result<Vec<u8>, SnapshotError> {
        let _worker = self.compile_worker().await?;
        // Preparing first refuses code that is not a lambkin function with the usual error.
        let code = self.load_blocking(wasm.clone()).await?;
        let function: Arc<PreparedFunction> = self.prepare(&code, spec)?;
        let Parts {
            mut store,
            log: _log,
            log_stream: _log_stream,
            tmp: _tmp,
        } = ExecutionEnvironment::create(&function, Initialization::SnapStart)
            .map_err(|e| SnapshotError::Wizer(format!("{e:#}")))?;
        let limit = Initialization::SnapStart.init_limit(function.spec.timeout);
        arm(&mut store, limit, None);
        let mut wizer = Wizer::new();
        // `init` stays exported: a restored component is still a `lambkin:function`.
        wizer.init_func("init()").keep_init_func(true);
        let linker = &self.inner.linker;
        let run = wizer.run_component(&mut store, &wasm, async |store, component| {
            linker.instantiate_async(store, component).await
        });
        let (snapshot, results) = match tokio::time::timeout(limit + GRACE, run).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) if store.data().timed_out => {
                return Err(SnapshotError::Init(format!(
                    "Sandbox.Timedout: Init timed out after {:.2} seconds ({e})",
                    limit.as_secs_f64()
                )));
            }
            Ok(Err(e)) => return Err(SnapshotError::Init(format!("Runtime.ExitError: {e:#}"))),
            Err(_) => {
                return Err(SnapshotError::Init(format!(
                    "Sandbox.Timedout: Init timed out after {:.2} seconds",
                    limit.as_secs_f64()
                )));
            }
        };
        match results.first() {
            Some(Val::Result(Ok(_))) => Ok(snapshot),
            Some(Val::Result(Err(Some(error)))) => Err(SnapshotError::Init(describe(error.as_ref()))),
            other => Err(SnapshotError::Wizer(format!("init returned {other:?}"))),
        }
    }
}

/// `errorType: errorMessage` of a `function-error` record.
fn describe(error: &Val) -> String {
    let Val::Record(fields) = error else {
        return format!("{error:?}");
    };
    let field = |name: &str| {
        fields.iter().find_map(|(n, v)| match v {
            Val::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    };
    format!(
        "{}: {}",
        field("error-type").unwrap_or("Error"),
        field("error-message").unwrap_or_default()
    )
}
