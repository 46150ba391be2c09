//! wasmtime's own floor, for benchmarks: a function's component on the sandbox's engine,
//! instantiated and called through bare wasmtime — a Store with an empty WASI context, wasi:http
//! that refuses every request, no-op runtime imports, no limits, logs, `/tmp` or deadline
//! bookkeeping. What lambkin adds to a cold
//! start or a warm invocation is its figure divided by this one, measured in the same run.

use crate::bindings::lambkin::function::{runtime, types};
use crate::bindings::{Function, FunctionPre};
use crate::outbound::{IoFuture, SendFuture};
use crate::{Code, Sandbox, SandboxError};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// A component linked once against bare WASI, ready to instantiate.
pub struct Floor {
    engine: Engine,
    pre: FunctionPre<FloorState>,
}

/// One instance of a [`Floor`] component after its Init, for warm calls.
pub struct FloorInstance {
    store: Store<FloorState>,
    bindings: Function,
    /// Filled once, as an execution environment fills its own; the request id changes per call.
    context: types::Context,
}

/// The Store's data: only what WASI needs.
pub struct FloorState {
    wasi: WasiCtx,
    http: wasmtime_wasi_http::WasiHttpCtx,
    hooks: NoRequests,
    table: ResourceTable,
}

/// wasi:http's hooks for a floor: every request is refused (hello sends none).
struct NoRequests;

impl WasiHttpHooks for NoRequests {
    fn send_request(
        &mut self,
        _request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _response_errors: IoFuture,
    ) -> SendFuture {
        Box::new(async { Err(HttpError::InternalError(Some("no requests from a floor".into()))) })
    }
}

impl wasmtime_wasi_http::WasiHttpView for FloorState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl WasiView for FloorState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl runtime::Host for FloorState {
    fn stream_write(&mut self, _chunk: Vec<u8>) {}
    fn stream_content_type(&mut self, _content_type: String) {}
    fn report_panic(&mut self, _message: String) {}
}

impl types::Host for FloorState {}

impl Floor {
    /// Links `code` on `sandbox`'s engine (the same configuration and allocator as its functions).
    pub fn new(sandbox: &Sandbox, code: &Code) -> Result<Floor, SandboxError> {
        let engine = sandbox.inner.engine.clone();
        let link = || -> wasmtime::Result<FunctionPre<FloorState>> {
            let mut linker = Linker::new(&engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
            wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
            runtime::add_to_linker::<FloorState, HasSelf<FloorState>>(&mut linker, |s| s)?;
            FunctionPre::new(linker.instantiate_pre(&code.component)?)
        };
        let pre = link().map_err(|e| SandboxError::NotAFunction(format!("{e:#}")))?;
        Ok(Floor { engine, pre })
    }

    /// A new instance with Init run: a cold start's floor.
    pub async fn start(&self) -> wasmtime::Result<FloorInstance> {
        let state = FloorState {
            wasi: WasiCtx::builder().build(),
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            hooks: NoRequests,
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        // The engine interrupts on epochs: yield at each tick, as `wasmtime serve` does.
        store.epoch_deadline_async_yield_and_update(1);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        bindings
            .call_init(&mut store)
            .await?
            .map_err(|e| wasmtime::format_err!("init: {}", e.error_message))?;
        let context = types::Context {
            request_id: String::new(),
            deadline_ms: 0,
            invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:floor".to_string(),
            function_name: "floor".to_string(),
            function_version: "$LATEST".to_string(),
            memory_limit_mb: 128,
            log_group_name: "/aws/lambda/floor".to_string(),
            log_stream_name: "2026/12/04/[$LATEST]00000000000000000000000000000000".to_string(),
            client_context: None,
            identity: None,
            trace_id: Some("Root=1-00000000-000000000000000000000000".to_string()),
        };
        Ok(FloorInstance {
            store,
            bindings,
            context,
        })
    }
}

impl FloorInstance {
    /// One call of the handler with `event`; returns the response's bytes.
    pub async fn call(&mut self, event: &[u8], request_id: &str) -> wasmtime::Result<Vec<u8>> {
        self.context.request_id.clear();
        self.context.request_id.push_str(request_id);
        self.bindings
            .call_handle(&mut self.store, event, &self.context)
            .await?
            .map_err(|e| wasmtime::format_err!("handle: {}", e.error_message))
    }
}
