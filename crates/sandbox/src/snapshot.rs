//! Snapshot start (the SnapStart analogue): a version's Init runs once, when the version
//! is published, and wasmtime-wizer writes the initialised instance's memories and globals back
//! into the component. Environments instantiated from that snapshot start where Init left off
//! (copy-on-write from the compiled image) and skip Init.
//!
//! As with Lambda SnapStart, what Init saw is frozen into the snapshot: values it read from its
//! environment (the log stream name, random seeds) are the same in every restored environment,
//! and WASI handles it held (an open file, a cached stdout stream) would not exist after a
//! restore: a snapshot is only taken of an Init that returned holding none.

use std::sync::Arc;
use wasmtime::component::{Component, Val};
use wasmtime_wizer::{ComponentContext, WasmtimeWizerComponent, Wizer};

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
    /// Init returned holding WASI resources (an open file, a stream, looked-up preopens).
    #[error(
        "Runtime.SnapshotError: Init left WASI resources open (files, directories or streams), \
         which a snapshot cannot keep; open them in the handler instead"
    )]
    ResourcesOpen,
}

/// Set in the environment of a snapshot's second Init, after the first left resources open: a
/// runtime that loads the function's code itself (lambkin's Python runtime) then loads it only
/// after the restore, and the snapshot holds the runtime alone.
pub const SNAPSHOT_RUNTIME_ONLY: &str = "LAMBKIN_SNAPSHOT_RUNTIME_ONLY";

impl Sandbox {
    /// Runs Init of `wasm` once, in an environment like the ones the snapshot will restore
    /// (`spec`'s variables, limits and layers), and returns the initialised component.
    /// Runs as a compile worker: it compiles, and its Init holds an instance of the engine's
    /// spares. An Init that leaves resources open is run once more with
    /// [`SNAPSHOT_RUNTIME_ONLY`] set.
    pub async fn snapshot(&self, wasm: bytes::Bytes, spec: FunctionSpec) -> Result<Vec<u8>, SnapshotError> {
        let _worker = self.compile_worker().await?;
        // Preparing first refuses code that is not a lambkin function with the usual error.
        let code = self.load_blocking(wasm.clone()).await?;
        let first = self.prepare(&code, spec.clone())?;
        let wizer = {
            let mut wizer = Wizer::new();
            // `init` stays exported: a restored component is still a `lambkin:function`.
            wizer.init_func("init").keep_init_func(true);
            wizer
        };
        let (context, instrumented) = wizer
            .instrument_component(&wasm)
            .map_err(|e| SnapshotError::Wizer(format!("{e:#}")))?;
        let component = Component::new(&self.inner.engine, &instrumented)
            .map_err(|e| SnapshotError::Wizer(format!("{e:#}")))?;
        match self.snapshot_init(&wizer, &context, &component, &first).await {
            Err(SnapshotError::ResourcesOpen) => {
                let mut spec = spec;
                spec.environment
                    .insert(SNAPSHOT_RUNTIME_ONLY.to_string(), "1".to_string());
                let second = self.prepare(&code, spec)?;
                self.snapshot_init(&wizer, &context, &component, &second).await
            }
            done => done,
        }
    }

    /// One Init of the instrumented `component`, then its snapshot.
    async fn snapshot_init(
        &self,
        wizer: &Wizer,
        context: &ComponentContext<'_>,
        component: &Component,
        function: &Arc<PreparedFunction>,
    ) -> Result<Vec<u8>, SnapshotError> {
        let Parts {
            mut store,
            log: _log,
            log_stream: _log_stream,
            tmp: _tmp,
        } = ExecutionEnvironment::create(function, Initialization::SnapStart)
            .map_err(|e| SnapshotError::Wizer(format!("{e:#}")))?;
        let limit = Initialization::SnapStart.init_limit(function.spec.timeout);
        arm(&mut store, limit, None);
        let linker = &self.inner.linker;
        let init = async {
            let instance = linker.instantiate_async(&mut store, component).await?;
            let init = instance
                .get_func(&mut store, "init")
                .ok_or_else(|| wasmtime::format_err!("the component exports no `init`"))?;
            let mut results = vec![Val::Bool(false)];
            init.call_async(&mut store, &[], &mut results).await?;
            Ok::<_, wasmtime::Error>((instance, results))
        };
        let (instance, results) = match tokio::time::timeout(limit + GRACE, init).await {
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
            Some(Val::Result(Ok(_))) => {}
            Some(Val::Result(Err(Some(error)))) => return Err(SnapshotError::Init(describe(error.as_ref()))),
            other => return Err(SnapshotError::Wizer(format!("init returned {other:?}"))),
        }
        // A restored environment starts with an empty handle table: a resource Init still
        // holds would dangle there, and its first use would trap.
        if !store.data().table.is_empty() {
            return Err(SnapshotError::ResourcesOpen);
        }
        wizer
            .snapshot_component(
                context,
                &mut WasmtimeWizerComponent {
                    store: &mut store,
                    instance,
                },
            )
            .await
            .map_err(|e| SnapshotError::Wizer(format!("{e:#}")))
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
