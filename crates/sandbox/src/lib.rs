//! The sandbox: every function runs as a WebAssembly component in wasmtime.
//!
//! One [`Sandbox`] per process holds the engine (pooling allocator when the address space allows,
//! epoch interruption driven by one ticker thread), the linker (WASI with only `/tmp`, wasi:http
//! and wasi:sockets behind the function's egress profile, plus the `lambkin:function/runtime`
//! imports) and the compile cache. [`Sandbox::prepare`] builds one
//! `InstancePre` per function version; an [`ExecutionEnvironment`] is one instance of it with its
//! own Store and `/tmp`.

mod compile;
mod engine;
mod env_vars;
mod environment;
pub mod floor;
mod limits;
pub mod log_format;
pub mod logs;
mod outbound;
mod snapshot;
mod tmp_dirs;
mod tmp_quota;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use compile::code_sha256;
pub use engine::default_environments;
pub use environment::{
    ExecutionEnvironment, FunctionError, InitFailure, Initialization, Invocation, InvokeRequest, Streamed,
};
pub use log_format::{Level, LogFormat};
pub use logs::Report;
pub use snapshot::SnapshotError;

/// Host side of the WIT world in `guest-sdk/wit`.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../guest-sdk/wit",
        world: "function",
        exports: { default: async },
    });
}
use bindings::lambkin::function::{runtime, types};
use bindings::{Function, FunctionPre};

/// The guest ABI and engine a function runs on: Lambda's "runtime version".
pub const RUNTIME_VERSION: &str = concat!("lambkin:", env!("CARGO_PKG_VERSION"), ".wasmtime-48.0.8");

/// Hands the heap memory freed by shut-down environments back to the operating system. glibc
/// keeps freed chunks in its per-thread arenas for reuse; after a burst of environments that is
/// tens of MiB the idle server holds for nothing (the soak in benches/ measured +30 MiB).
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks each arena while it
    // trims it); it only releases memory malloc holds free, so no live allocation is touched.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The ARN of [`RUNTIME_VERSION`] in `region`, as RuntimeVersionConfig and INIT_START report it.
pub fn runtime_version_arn(region: &str) -> String {
    use sha2::Digest;
    let id = hex::encode(sha2::Sha256::digest(RUNTIME_VERSION.as_bytes()));
    format!("arn:aws:lambda:{region}::runtime:{id}")
}

/// Largest synchronous response, as Lambda's 6 MB limit.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Everything that can go wrong before a function runs.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("invalid WebAssembly component: {0}")]
    InvalidCode(String),
    #[error("not a lambkin function: {0}")]
    NotAFunction(String),
    #[error("sandbox engine: {0}")]
    Engine(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where the sandbox keeps its files, and how much it runs at once.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Compiled artifacts are cached here (`None`: compile every time).
    pub compile_cache_dir: Option<PathBuf>,
    /// Parent of the environments' `/tmp` directories (`None`: a fresh directory in the system's
    /// temporary directory, removed with the sandbox).
    pub environments_dir: Option<PathBuf>,
    /// Execution environments that may exist at once (the engine reserves their instances).
    pub environments: u32,
    /// Compiles and snapshot Inits that may run at once.
    pub compile_workers: usize,
    /// The operator's egress profiles; a function names one with [`FunctionSpec::egress_profile`].
    pub egress_policy: Arc<lambkin_egress::Policy>,
    /// lambkin's own listeners: no guest connects to them unless its profile names them.
    pub own_listeners: Vec<std::net::SocketAddr>,
    /// Where every phase's log is kept (its function's log group), besides the Tail log.
    pub log_sink: Option<Arc<dyn lambkin_logs::LogSink>>,
}

impl Default for SandboxConfig {
    /// No cache, a fresh environments directory, capacity from the machine, a compile worker
    /// per core.
    fn default() -> Self {
        SandboxConfig {
            compile_cache_dir: None,
            environments_dir: None,
            environments: engine::default_environments(),
            compile_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            egress_policy: Arc::default(),
            own_listeners: Vec::new(),
            log_sink: None,
        }
    }
}

/// What an execution environment needs to know about the function version it runs.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub version: String,
    /// The unqualified function ARN (the default `invoked_function_arn`).
    pub function_arn: String,
    pub handler: String,
    pub region: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub ephemeral_storage_mb: u32,
    /// The function's own variables (validated: no reserved keys).
    pub environment: BTreeMap<String, String>,
    /// The function's layers, unpacked: mounted read-only at `/opt`.
    pub opt_dir: Option<PathBuf>,
    /// A managed runtime's function code (its zip, unpacked): mounted read-only at `/var/task`.
    pub task_dir: Option<PathBuf>,
    /// A managed runtime's own files (e.g. Python's standard library): read-only at `/var/lang`.
    pub runtime_dir: Option<PathBuf>,
    /// The managed runtime (`python3.14`) and its RuntimeVersionArn, for a function on one:
    /// INIT_START names them, `AWS_EXECUTION_ENV` the runtime (otherwise the sandbox's own
    /// [`RUNTIME_VERSION`], and no execution environment variable, as `provided` has none).
    pub managed_runtime: Option<(String, String)>,
    /// The code is a snapshot taken after Init ([`Sandbox::snapshot`]): its environments are
    /// restored (`snap-start`) and skip Init.
    pub restored: bool,
    /// The egress profile of the operator's policy the function may reach the network through
    /// (its `lambkin:egress` tag); without one it has no network.
    pub egress_profile: Option<String>,
    /// The log group its logs go to: LoggingConfig.LogGroup, by default `/aws/lambda/<name>`.
    pub log_group: String,
    /// LoggingConfig's LogFormat and, for JSON, its levels.
    pub log_format: LogFormat,
}

impl FunctionSpec {
    /// Lambda's defaults (128 MB, 3 s, 512 MB of /tmp) for a function of this name.
    pub fn new(name: &str, region: &str, account_id: &str) -> FunctionSpec {
        FunctionSpec {
            name: name.to_string(),
            version: "$LATEST".to_string(),
            function_arn: format!("arn:aws:lambda:{region}:{account_id}:function:{name}"),
            handler: name.to_string(),
            region: region.to_string(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            ephemeral_storage_mb: 512,
            environment: BTreeMap::new(),
            opt_dir: None,
            task_dir: None,
            runtime_dir: None,
            managed_runtime: None,
            restored: false,
            egress_profile: None,
            log_group: format!("/aws/lambda/{name}"),
            log_format: LogFormat::Text,
        }
    }
}

/// Compiled code, shared by every version that has the same bytes.
#[derive(Clone)]
pub struct Code {
    pub sha256: String,
    component: Component,
}

/// A function version ready to start environments: built once, at deploy time.
pub struct PreparedFunction {
    pub spec: FunctionSpec,
    /// The profile `spec.egress_profile` names: `Err` with the name when the policy lacks it
    /// (the function then has no network, and each Init says why).
    egress: Result<Option<Arc<lambkin_egress::Profile>>, String>,
    pre: FunctionPre<EnvState>,
    /// The environment variables all its environments share (see [`env_vars`]).
    environment: Vec<(String, String)>,
    sandbox: Sandbox,
    /// Keeps the code shared while this version is prepared (see [`Sandbox::load`]).
    _code: Arc<Code>,
}

/// The process's sandbox. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<SandboxInner>,
}

struct SandboxInner {
    engine: Engine,
    linker: Linker<EnvState>,
    cache: Option<compile::CompileCache>,
    /// Loaded code by SHA-256, while any prepared version holds it: the versions of one code
    /// share one compile, one mapping and one open file. A std lock, held for a lookup only;
    /// each slot's own lock is held across its load, on a blocking thread.
    loaded: Mutex<HashMap<String, Arc<Mutex<Weak<Code>>>>>,
    /// Compiles run (loads from the compile cache not counted).
    compiles: AtomicU64,
    /// Bounds the compiles and snapshot Inits running at once: each holds a core (and a
    /// blocking thread) for up to seconds, and a burst of them must not take every one.
    workers: tokio::sync::Semaphore,
    /// Execution environments the engine has instances for.
    environments: u32,
    log_sink: Option<Arc<dyn lambkin_logs::LogSink>>,
    /// The environments' `/tmp` directories.
    tmp_dirs: tmp_dirs::TmpDirPool,
    egress_policy: Arc<lambkin_egress::Policy>,
    egress: Arc<outbound::EgressShared>,
    /// Keeps the default environments directory alive (and removes it with the sandbox).
    _owned_environments_dir: Option<tempfile::TempDir>,
    pooling: bool,
    _ticker: engine::EpochTicker,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let environments = config.environments.max(1);
        let compile_workers = config.compile_workers.clamp(1, engine::SPARE_INSTANCES as usize);
        let (engine, pooling) = engine::build_engine(environments + engine::SPARE_INSTANCES)
            .map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
        let linker = build_linker(&engine).map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
        let cache = config
            .compile_cache_dir
            .as_deref()
            .map(|dir| compile::CompileCache::new(dir, &engine));
        let (environments_dir, owned) = match config.environments_dir {
            Some(dir) => (dir, None),
            None => {
                tmp_dirs::remove_orphan_roots(&std::env::temp_dir());
                let dir = tempfile::Builder::new()
                    .prefix(&tmp_dirs::default_root_prefix())
                    .tempdir()?;
                (dir.path().to_path_buf(), Some(dir))
            }
        };
        let ticker = engine::EpochTicker::start(&engine)?;
        Ok(Sandbox {
            inner: Arc::new(SandboxInner {
                engine,
                linker,
                cache,
                loaded: Mutex::default(),
                compiles: AtomicU64::new(0),
                workers: tokio::sync::Semaphore::new(compile_workers),
                environments,
                log_sink: config.log_sink,
                tmp_dirs: tmp_dirs::TmpDirPool::new(environments_dir)?,
                egress_policy: config.egress_policy,
                egress: Arc::new(outbound::EgressShared {
                    own_listeners: config.own_listeners,
                    denials: AtomicU64::new(0),
                }),
                _owned_environments_dir: owned,
                pooling,
                _ticker: ticker,
            }),
        })
    }

    /// How many times code was compiled (not found in the compile cache) since the start.
    pub fn compiles(&self) -> u64 {
        self.inner.compiles.load(Ordering::Relaxed)
    }

    /// Outbound connections refused by egress policy since the start.
    pub fn egress_denials(&self) -> u64 {
        self.inner.egress.denials.load(Ordering::Relaxed)
    }

    /// The operator's egress policy.
    pub fn egress_policy(&self) -> &lambkin_egress::Policy {
        &self.inner.egress_policy
    }

    /// How many execution environments may exist at once.
    pub fn environments(&self) -> u32 {
        self.inner.environments
    }

    /// Whether instances come from the pooling allocator (else on-demand).
    pub fn uses_pooling_allocator(&self) -> bool {
        self.inner.pooling
    }

    /// Compiles `wasm` (or loads it from the compile cache), once for any number of callers: a
    /// burst of versions with the same code waits for one load, and code already loaded for a
    /// prepared version is shared. Blocks; call it off the async runtime's threads.
    pub fn load(&self, wasm: &[u8]) -> Result<Arc<Code>, SandboxError> {
        let sha256 = code_sha256(wasm);
        let slot = {
            let mut loaded = lock(&self.inner.loaded);
            // Forget code no version holds any more (a slot being loaded is kept).
            loaded.retain(|_, slot| slot.try_lock().map_or(true, |code| code.strong_count() > 0));
            loaded.entry(sha256.clone()).or_default().clone()
        };
        let mut slot = lock(&slot);
        if let Some(code) = slot.upgrade() {
            return Ok(code);
        }
        let cached = self
            .inner
            .cache
            .as_ref()
            .and_then(|cache| cache.load(&self.inner.engine, &sha256));
        let component = match cached {
            Some(component) => component,
            None => {
                self.inner.compiles.fetch_add(1, Ordering::Relaxed);
                let component = compile::compile(&self.inner.engine, wasm)?;
                if let Some(cache) = &self.inner.cache {
                    cache.keep(&sha256, &component);
                }
                component
            }
        };
        let code = Arc::new(Code { sha256, component });
        *slot = Arc::downgrade(&code);
        Ok(code)
    }

    /// [`Sandbox::load`] for async callers: code already loaded is shared at once; otherwise the
    /// load waits for a compile worker and runs on a blocking thread.
    pub async fn load_async(&self, wasm: bytes::Bytes) -> Result<Arc<Code>, SandboxError> {
        if let Some(code) = self.loaded(&code_sha256(&wasm)) {
            return Ok(code);
        }
        let _worker = self.compile_worker().await?;
        self.load_blocking(wasm).await
    }

    /// A compile worker's turn (see `SandboxInner::workers`).
    async fn compile_worker(&self) -> Result<tokio::sync::SemaphorePermit<'_>, SandboxError> {
        self.inner
            .workers
            .acquire()
            .await
            .map_err(|e| SandboxError::Engine(format!("compile workers: {e}")))
    }

    /// [`Sandbox::load`] on a blocking thread, in the caller's span (a compile-cache warning
    /// names the request that hit it).
    async fn load_blocking(&self, wasm: bytes::Bytes) -> Result<Arc<Code>, SandboxError> {
        let sandbox = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            sandbox.load(&wasm)
        })
        .await
        .map_err(|e| SandboxError::Engine(format!("the compile did not finish: {e}")))?
    }

    /// The code with this hash, if a prepared version holds it now.
    pub fn loaded(&self, sha256: &str) -> Option<Arc<Code>> {
        let slot = lock(&self.inner.loaded).get(sha256)?.clone();
        // A slot being loaded is locked: the caller takes the slow path and waits there.
        slot.try_lock().ok()?.upgrade()
    }

    /// Links the code against the host once, for one function version.
    pub fn prepare(
        &self,
        code: &Arc<Code>,
        spec: FunctionSpec,
    ) -> Result<Arc<PreparedFunction>, SandboxError> {
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&code.component)
            .map_err(|e| SandboxError::NotAFunction(format!("{e:#}")))?;
        let pre = FunctionPre::new(instance_pre).map_err(|e| SandboxError::NotAFunction(format!("{e:#}")))?;
        let egress = match &spec.egress_profile {
            None => Ok(None),
            Some(name) => self
                .inner
                .egress_policy
                .profile(name)
                .map(Some)
                .ok_or_else(|| name.clone()),
        };
        Ok(Arc::new(PreparedFunction {
            environment: env_vars::function_environment(&spec),
            spec,
            egress,
            pre,
            sandbox: self.clone(),
            _code: code.clone(),
        }))
    }
}

// A panic in a load leaves a slot with no code (the next caller loads again) and the map with
// at most a slot nobody fills, so a poisoned lock is taken as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn build_linker(engine: &Engine) -> wasmtime::Result<Linker<EnvState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    runtime::add_to_linker::<EnvState, HasSelf<EnvState>>(&mut linker, |s| s)?;
    tmp_quota::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// The data of one execution environment's Store.
pub struct EnvState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: limits::MemoryLimiter,
    tmp_quota: tmp_quota::TmpQuota,
    /// When the running phase (Init or an invocation) must end; checked on every epoch tick.
    deadline: Instant,
    /// Set by the epoch callback when it stopped the guest at the deadline.
    timed_out: bool,
    /// The message of a guest panic, reported just before the guest aborts.
    panic_message: Option<String>,
    /// Where streamed chunks go during a streaming invocation.
    stream: Option<UnboundedSender<Streamed>>,
    /// wasi:http's state, and the hooks that send its requests under the egress profile.
    http: wasmtime_wasi_http::WasiHttpCtx,
    outbound: outbound::Outbound,
    /// Chunks written during an invocation that is not streamed: Lambda answers a plain Invoke
    /// of a streaming function with them, buffered (at most one byte past the response limit
    /// is kept, to tell that it was passed).
    unstreamed: Vec<u8>,
}

impl WasiView for EnvState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for EnvState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl runtime::Host for EnvState {
    fn stream_write(&mut self, chunk: Vec<u8>) {
        match &self.stream {
            // A gone receiver means the client left; the guest finishes regardless.
            Some(stream) => drop(stream.send(Streamed::Chunk(chunk.into()))),
            None => {
                let room = (MAX_RESPONSE_BYTES + 1).saturating_sub(self.unstreamed.len());
                self.unstreamed.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
        }
    }

    fn stream_content_type(&mut self, content_type: String) {
        // Unstreamed (a plain Invoke of a streaming function), the response has no type of its own.
        if let Some(stream) = &self.stream {
            drop(stream.send(Streamed::ContentType(content_type)));
        }
    }

    fn report_panic(&mut self, message: String) {
        self.panic_message = Some(message);
    }
}

impl types::Host for EnvState {}

impl PreparedFunction {
    fn new_store(&self, state: EnvState) -> Store<EnvState> {
        Store::new(&self.sandbox.inner.engine, state)
    }
}
