//! An execution environment: one component instance with its Store and its own `/tmp`.
//! Init runs once when it starts; then it serves invocations one at a time until an unhandled
//! error (crash, trap, timeout) makes it unusable.

use bytes::Bytes;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::UnboundedSender;
use wasmtime::{Trap, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::limits::MemoryLimiter;
use super::logs::{self, LogBuffer, Report};
use super::outbound::Outbound;
use super::tmp_dirs::TmpDir;
use super::tmp_quota::TmpQuota;
use super::types::{Context, FunctionError as WitFunctionError};
use super::{EnvState, Function, MAX_RESPONSE_BYTES, PreparedFunction, RUNTIME_VERSION, env_vars};
use std::sync::Arc;

/// Lambda's limit on the Init phase of an on-demand environment.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The floor of the Init limit for provisioned concurrency and SnapStart (seed 003: "130 seconds
/// or the configured function timeout, whichever is higher").
pub const PROVISIONED_INIT_FLOOR: Duration = Duration::from_secs(130);

/// How an environment comes to be: `AWS_LAMBDA_INITIALIZATION_TYPE`, Init's limit, and whether
/// its first invocation is a cold start that reports Init Duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initialization {
    OnDemand,
    /// Initialised ahead of invocations for provisioned concurrency.
    Provisioned,
    /// Restored from a snapshot taken when the version was published.
    SnapStart,
}

impl Initialization {
    pub fn as_str(self) -> &'static str {
        match self {
            Initialization::OnDemand => "on-demand",
            Initialization::Provisioned => "provisioned-concurrency",
            Initialization::SnapStart => "snap-start",
        }
    }

    /// Init's time limit for a function whose invocations may run for `timeout`.
    pub fn init_limit(self, timeout: Duration) -> Duration {
        match self {
            Initialization::OnDemand => INIT_TIMEOUT,
            _ => timeout.max(PROVISIONED_INIT_FLOOR),
        }
    }
}

/// A function error as the caller sees it: `{"errorType","errorMessage"[,"stackTrace"]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
    pub stack_trace: Vec<String>,
}

impl FunctionError {
    fn new(error_type: &str, error_message: String) -> FunctionError {
        FunctionError {
            error_type: error_type.to_string(),
            error_message,
            stack_trace: Vec::new(),
        }
    }

    /// The response body Lambda sends for a function error.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "errorType": self.error_type,
            "errorMessage": self.error_message,
        });
        if !self.stack_trace.is_empty() {
            body["stackTrace"] = serde_json::json!(self.stack_trace);
        }
        body
    }
}

impl From<WitFunctionError> for FunctionError {
    fn from(e: WitFunctionError) -> Self {
        FunctionError {
            error_type: e.error_type,
            error_message: e.error_message,
            stack_trace: e.stack_trace,
        }
    }
}

/// One invocation's request.
#[derive(Debug, Default)]
pub struct InvokeRequest {
    pub payload: Bytes,
    /// Defaults to a fresh UUID.
    pub request_id: Option<String>,
    /// The ARN the caller used; defaults to the function's unqualified ARN.
    pub invoked_function_arn: Option<String>,
    /// Decoded `X-Amz-Client-Context` (JSON text).
    pub client_context: Option<String>,
    /// `X-Amzn-Trace-Id`; one is made up when absent.
    pub trace_id: Option<String>,
    /// For response streaming: where the guest's chunks go as it writes them.
    pub stream: Option<UnboundedSender<Streamed>>,
}

/// What a streaming guest sends, in the order it sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Streamed {
    /// The stream's Content-Type, set before its first chunk.
    ContentType(String),
    Chunk(Bytes),
}

/// What an invocation produced.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub result: Result<Vec<u8>, FunctionError>,
    /// START, the function's output, END, REPORT (INIT_START and Init's output on a cold start).
    pub log: String,
    pub report: Report,
}

/// Init failed: the environment never serves an invocation.
#[derive(Debug)]
pub struct InitFailure {
    pub error: FunctionError,
    /// INIT_START, Init's output, INIT_REPORT.
    pub log: String,
}

pub struct ExecutionEnvironment {
    function: Arc<PreparedFunction>,
    store: wasmtime::Store<EnvState>,
    bindings: Function,
    log: LogBuffer,
    /// This environment's log stream (`YYYY/MM/DD/[version]id`), also in the guest's environment.
    log_stream: String,
    /// The environment's `/tmp` on the host; removed when the environment goes.
    _tmp: TmpDir,
    /// How the environment started (Init or a restore), reported with its first invocation.
    /// Boxed: told once, and the environment stays small for the pool's claims.
    pending_start: Option<Box<ColdStart>>,
    /// False once an unhandled error left the instance in an unknown state.
    reusable: bool,
    /// The guest's context, kept from one invocation to the next: what is the environment's is
    /// filled in once, what is the invocation's is written over its last value. Boxed, as
    /// `pending_start` is.
    context: Box<Context>,
}

/// How an environment that was not provisioned started (Init, or the restore of a snapshot), told
/// by its first invocation's log and REPORT.
struct ColdStart {
    restored: bool,
    duration: Duration,
    /// When the phase began, for its lines in the log group.
    began: SystemTime,
    /// INIT_START or RESTORE_START and what the phase printed.
    log: String,
}

/// An environment before Init: what `create` builds and `start` completes.
pub(super) struct Parts {
    pub(super) store: wasmtime::Store<EnvState>,
    pub(super) log: LogBuffer,
    pub(super) log_stream: String,
    pub(super) tmp: TmpDir,
}

impl ExecutionEnvironment {
    /// Creates an on-demand environment and runs Init.
    pub async fn start(function: &Arc<PreparedFunction>) -> Result<ExecutionEnvironment, InitFailure> {
        Self::start_as(function, Initialization::OnDemand).await
    }

    /// Creates an environment of the given kind and runs Init (or restores its snapshot). The
    /// first invocation of an on-demand environment reports Init Duration, of a restored one
    /// Restore Duration; a provisioned one's reports neither (it started ahead of its calls).
    pub async fn start_as(
        function: &Arc<PreparedFunction>,
        kind: Initialization,
    ) -> Result<ExecutionEnvironment, InitFailure> {
        let started = Instant::now();
        let began = SystemTime::now();
        let init_limit = kind.init_limit(function.spec.timeout);
        let Parts {
            mut store,
            log,
            log_stream,
            tmp,
        } = Self::create(function, kind).map_err(|e| InitFailure {
            log: String::new(),
            error: FunctionError::new(
                "Runtime.Unknown",
                format!("could not create the execution environment: {e:#}"),
            ),
        })?;
        // Init's limit covers instantiation (start functions, data segments) too.
        arm(&mut store, init_limit, None);
        let restored = function.spec.restored;
        let outcome = match function.pre.instantiate_async(&mut store).await {
            // A snapshot's Init ran when it was taken.
            Ok(bindings) if restored => Ok(bindings),
            Ok(bindings) => {
                let init = tokio::time::timeout(init_limit + GRACE, bindings.call_init(&mut store)).await;
                match init {
                    Ok(Ok(Ok(()))) => Ok(bindings),
                    Ok(Ok(Err(handled))) => Err(FunctionError::from(handled)),
                    Ok(Err(trap)) => Err(unhandled(&mut store, &trap, "init", init_limit)),
                    Err(_) => Err(timed_out("init", init_limit)),
                }
            }
            Err(trap) => Err(unhandled(&mut store, &trap, "init", init_limit)),
        };
        let duration = started.elapsed();
        let (version, arn) = match &function.spec.managed_runtime {
            Some((runtime, arn)) => (format!("{runtime}.{RUNTIME_VERSION}"), arn.clone()),
            None => (
                RUNTIME_VERSION.to_string(),
                super::runtime_version_arn(&function.spec.region),
            ),
        };
        let phase = logs::Phase {
            format: &function.spec.log_format,
            restore: restored,
            initialization_type: kind.as_str(),
            runtime_version: &version,
            runtime_version_arn: &arn,
            function_name: &function.spec.name,
            function_version: &function.spec.version,
        };
        let start_log = phase.start_log(&log.take());
        match outcome {
            Ok(bindings) => {
                // A provisioned environment's Init is its own entry in the log group; an
                // on-demand one's is told with its first invocation.
                if kind == Initialization::Provisioned {
                    keep_log(function, &log_stream, &start_log, began);
                }
                let pending_start = (kind != Initialization::Provisioned).then(|| {
                    Box::new(ColdStart {
                        restored,
                        duration,
                        began,
                        log: start_log,
                    })
                });
                Ok(Self::assemble(
                    function,
                    store,
                    bindings,
                    log,
                    log_stream,
                    tmp,
                    pending_start,
                ))
            }
            Err(error) => {
                let log = start_log + &phase.failure_line(duration, &error.error_type);
                keep_log(function, &log_stream, &log, began);
                Err(InitFailure { log, error })
            }
        }
    }

    fn assemble(
        function: &Arc<PreparedFunction>,
        store: wasmtime::Store<EnvState>,
        bindings: Function,
        log: LogBuffer,
        log_stream: String,
        tmp: TmpDir,
        pending_start: Option<Box<ColdStart>>,
    ) -> ExecutionEnvironment {
        let spec = &function.spec;
        let context = Box::new(Context {
            request_id: String::new(),
            deadline_ms: 0,
            invoked_function_arn: spec.function_arn.clone(),
            function_name: spec.name.clone(),
            function_version: spec.version.clone(),
            memory_limit_mb: spec.memory_mb,
            log_group_name: env_vars::log_group(spec),
            log_stream_name: log_stream.clone(),
            client_context: None,
            identity: None,
            trace_id: None,
        });
        ExecutionEnvironment {
            function: function.clone(),
            store,
            bindings,
            log,
            log_stream,
            _tmp: tmp,
            pending_start,
            reusable: true,
            context,
        }
    }

    /// The Store with WASI (only `/tmp`; the network its egress profile allows), limits and the
    /// epoch callback.
    pub(super) fn create(function: &PreparedFunction, kind: Initialization) -> anyhow::Result<Parts> {
        let spec = &function.spec;
        let tmp = function.sandbox.inner.tmp_dirs.take()?;
        let log = LogBuffer::default();
        let log_stream = log_stream_name(&spec.version);
        let profile = match &function.egress {
            Ok(profile) => profile.clone(),
            Err(missing) => {
                log.warn(&format!(
                    "lambkin egress: the operator's policy has no profile {missing:?}: the function has no network"
                ));
                None
            }
        };
        let outbound = Outbound::new(profile, function.sandbox.inner.egress.clone(), log.clone());
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(&function.environment)
            .envs(&env_vars::per_environment(&log_stream, kind))
            .stdout(log.clone())
            .stderr(log.clone())
            // Every TCP bind, connect and listen goes through the address check: without a
            // profile it refuses every connect and listen (and logs and counts each refusal).
            .allow_tcp(true)
            .allow_udp(false)
            .allow_ip_name_lookup(outbound.allows_tcp())
            .socket_addr_check(outbound.socket_check())
            .preopened_dir(tmp.path(), "/tmp", FsPerms::ReadWrite)?;
        let read_only = [
            (&spec.opt_dir, "/opt"),
            (&spec.task_dir, "/var/task"),
            (&spec.runtime_dir, "/var/lang"),
        ];
        for (dir, guest) in read_only {
            if let Some(dir) = dir {
                wasi.preopened_dir(dir, guest, FsPerms::ReadOnly)?;
            }
        }
        let state = EnvState {
            wasi: wasi.build(),
            table: wasmtime::component::ResourceTable::new(),
            limiter: MemoryLimiter::new(spec.memory_mb),
            tmp_quota: TmpQuota::new(
                tmp.path().to_path_buf(),
                u64::from(spec.ephemeral_storage_mb) << 20,
                tmp.touched(),
            ),
            deadline: Instant::now(),
            timed_out: false,
            panic_message: None,
            stream: None,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            outbound,
            unstreamed: Vec::new(),
        };
        let mut store = function.new_store(state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if Instant::now() >= state.deadline {
                state.timed_out = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            // Not due yet: let other tasks on this thread run, then check again next tick.
            Ok(UpdateDeadline::Yield(1))
        });
        Ok(Parts {
            store,
            log,
            log_stream,
            tmp,
        })
    }

    /// Whether the environment can serve another invocation.
    pub fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// Runs one invocation (one at a time: `&mut self`).
    pub async fn invoke(&mut self, request: InvokeRequest) -> Invocation {
        let function = self.function.clone();
        let spec = &function.spec;
        let timeout = spec.timeout;
        let request_id = request
            .request_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let context = &mut self.context;
        overwrite(&mut context.request_id, &request_id);
        context.deadline_ms = epoch_millis(SystemTime::now() + timeout);
        overwrite(
            &mut context.invoked_function_arn,
            request
                .invoked_function_arn
                .as_deref()
                .unwrap_or(&spec.function_arn),
        );
        context.client_context = request.client_context;
        context.trace_id = Some(request.trace_id.unwrap_or_else(new_trace_id));
        let started = Instant::now();
        let began = SystemTime::now();
        arm(&mut self.store, timeout, request.stream);
        let result = if self.reusable {
            call_handle(
                &self.bindings,
                &mut self.store,
                &mut self.reusable,
                &request.payload,
                &self.context,
                timeout,
            )
            .await
        } else {
            // An instance that trapped is in an unknown state: it never runs again.
            Err(FunctionError::new(
                "Runtime.ExitError",
                format!(
                    "RequestId: {request_id} Error: the execution environment was reset by an earlier error"
                ),
            ))
        };
        let duration = started.elapsed();
        self.store.data_mut().stream = None;
        let start = self.pending_start.take();
        let phase = |restored: bool| {
            start
                .as_ref()
                .filter(|s| s.restored == restored)
                .map(|s| s.duration)
        };
        let report = Report {
            request_id: request_id.clone(),
            duration,
            memory_size_mb: spec.memory_mb,
            max_memory_used_mb: logs::megabytes(self.store.data().limiter.peak_bytes),
            init_duration: phase(false),
            restore_duration: phase(true),
        };
        let error_line = match &result {
            Err(e) if !self.reusable => Some(e.error_message.as_str()),
            _ => None,
        };
        let body = logs::invocation_log(
            &spec.log_format,
            &spec.version,
            &self.log.take(),
            error_line,
            &report,
            result.is_err(),
        );
        if let Some(start) = &start {
            keep_log(&function, &self.log_stream, &start.log, start.began);
        }
        keep_log(&function, &self.log_stream, &body, began);
        let log = match start {
            Some(start) => start.log + &body,
            None => body,
        };
        Invocation {
            request_id,
            result,
            log,
            report,
        }
    }
}

/// Calls the guest's `handle` under the timeout and names what went wrong; an unhandled error
/// marks the environment not `reusable`.
async fn call_handle(
    bindings: &Function,
    store: &mut wasmtime::Store<EnvState>,
    reusable: &mut bool,
    payload: &[u8],
    context: &Context,
    timeout: Duration,
) -> Result<Vec<u8>, FunctionError> {
    let request_id = context.request_id.as_str();
    let answer = tokio::time::timeout(
        timeout + GRACE,
        bindings.call_handle(&mut *store, payload, context),
    )
    .await;
    // A streaming function invoked without a stream: what it wrote is the response.
    let unstreamed = std::mem::take(&mut store.data_mut().unstreamed);
    let answer = match answer {
        Ok(Ok(Ok(_))) if !unstreamed.is_empty() => Ok(Ok(Ok(unstreamed))),
        other => other,
    };
    match answer {
        Ok(Ok(Ok(body))) if body.len() > MAX_RESPONSE_BYTES => Err(FunctionError::new(
            "Function.ResponseSizeTooLarge",
            format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                body.len()
            ),
        )),
        Ok(Ok(Ok(body))) => Ok(body),
        Ok(Ok(Err(handled))) => Err(FunctionError::from(handled)),
        Ok(Err(trap)) => {
            *reusable = false;
            Err(unhandled(store, &trap, request_id, timeout))
        }
        Err(_) => {
            *reusable = false;
            Err(timed_out(request_id, timeout))
        }
    }
}

/// Replaces `text` with `with`, in the capacity it has.
fn overwrite(text: &mut String, with: &str) {
    if text != with {
        text.clear();
        text.push_str(with);
    }
}

/// Extra time past the deadline before the host gives up on a guest blocked in a host call
/// (a guest running wasm is stopped by the epoch callback at the deadline itself).
pub(super) const GRACE: Duration = Duration::from_millis(50);

/// Prepares the Store for a phase that may run for `limit`.
pub(super) fn arm(
    store: &mut wasmtime::Store<EnvState>,
    limit: Duration,
    stream: Option<UnboundedSender<Streamed>>,
) {
    let state = store.data_mut();
    state.deadline = Instant::now() + limit;
    state.timed_out = false;
    state.panic_message = None;
    state.stream = stream;
    state.unstreamed.clear();
    store.set_epoch_deadline(1);
}

/// Names the unhandled error behind a trap, as Lambda would.
fn unhandled(
    store: &mut wasmtime::Store<EnvState>,
    error: &wasmtime::Error,
    request_id: &str,
    limit: Duration,
) -> FunctionError {
    let state = store.data_mut();
    if state.timed_out || matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return timed_out(request_id, limit);
    }
    if state.limiter.refused {
        state.limiter.refused = false;
        return FunctionError::new(
            "Runtime.OutOfMemory",
            format!(
                "RequestId: {request_id} Error: Runtime exited with error: memory limit of {} MB exceeded",
                state.limiter.limit_mb()
            ),
        );
    }
    let cause = match (state.panic_message.take(), error.downcast_ref::<Trap>()) {
        (Some(panic), _) => panic,
        (None, Some(Trap::StackOverflow)) => "stack overflow".to_string(),
        (None, Some(trap)) => trap.to_string(),
        (None, None) => format!("{error:#}"),
    };
    FunctionError::new(
        "Runtime.ExitError",
        format!("RequestId: {request_id} Error: Runtime exited with error: {cause}"),
    )
}

fn timed_out(request_id: &str, limit: Duration) -> FunctionError {
    FunctionError::new(
        "Sandbox.Timedout",
        format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            limit.as_secs_f64()
        ),
    )
}

fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// An X-Ray trace header, for invocations that did not bring one.
fn new_trace_id() -> String {
    let secs = epoch_millis(SystemTime::now()) / 1000;
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{secs:08x}-{};Parent={};Sampled=0", &id[..24], &id[16..32])
}

/// Lambda's log stream name: `YYYY/MM/DD/[version]<id>`, one per environment.
fn log_stream_name(version: &str) -> String {
    let today = time::OffsetDateTime::now_utc();
    let id = uuid::Uuid::new_v4().simple();
    format!(
        "{:04}/{:02}/{:02}/[{version}]{id}",
        today.year(),
        u8::from(today.month()),
        today.day()
    )
}

/// Keeps a phase's log in the function's log group (when the sandbox keeps logs).
fn keep_log(function: &PreparedFunction, stream: &str, text: &str, began: SystemTime) {
    if let Some(sink) = &function.sandbox.inner.log_sink {
        sink.write(&function.spec.log_group, stream, text, began, SystemTime::now());
    }
}
