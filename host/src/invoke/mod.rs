//! Running functions for the front door: each published version (and each revision of $LATEST)
//! is prepared once — code compiled or loaded from the compile cache, linked into an
//! `InstancePre`, layers unpacked — and keeps its warm execution environments for reuse.
//!
//! - [`Invoker`]: resolves what to run, enforces reserved concurrency, runs it.
//! - [`queue`]: the durable queue of asynchronous events ([`queue::AsyncQueue`]).
//! - [`worker`]: delivers queued events with retries, and their records to destinations.
//! - [`record`]: the invocation record that destinations receive.
//!
//! The environment pool here is deliberately simple (unbounded, never reaped): idle reaping and
//! provisioned concurrency are the pool's own issue.

pub mod queue;
pub mod record;
pub mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::api::ApiError;
use crate::registry::{InvocationTarget, Registry};
use crate::sandbox::{
    ExecutionEnvironment, FunctionError, FunctionSpec, InvokeRequest, PreparedFunction, Sandbox,
};

/// Largest synchronous request payload, as Lambda's 6 MB.
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// What an invocation returns to the front door.
pub struct SyncResult {
    /// The version that ran (an alias resolves to one, weighted routing picks one).
    pub executed_version: String,
    pub request_id: String,
    pub result: Result<Vec<u8>, FunctionError>,
    /// The invocation's log (START … REPORT, or INIT_START … INIT_REPORT when Init failed).
    pub log: String,
}

pub struct Invoker {
    registry: Arc<Registry>,
    sandbox: Sandbox,
    /// (function, version) → the prepared revision and its idle environments.
    deployed: tokio::sync::Mutex<HashMap<(String, String), Arc<Deployed>>>,
    /// `function:qualifier` → what invoking it runs, valid while the registry's generation is
    /// unchanged: the invoke path touches the registry only after a write.
    routes: RwLock<HashMap<String, Arc<Route>>>,
    /// Invocations running now, per function: what reserved concurrency is checked against.
    running: Mutex<HashMap<String, Arc<AtomicU32>>>,
}

/// A resolved function qualifier: its version (or, for a weighted alias, its two versions),
/// prepared, and the function's concurrency accounting.
struct Route {
    generation: u64,
    primary: Leg,
    additional: Option<(f64, Leg)>,
    reserved_concurrency: Option<u32>,
    running: Arc<AtomicU32>,
}

/// One version a route may run.
struct Leg {
    executed_version: String,
    invoked_function_arn: String,
    deployed: Arc<Deployed>,
}

/// One prepared revision of a function version.
struct Deployed {
    /// The configuration revision it was prepared from: a new revision replaces it.
    revision_id: String,
    function: Arc<PreparedFunction>,
    /// Warm environments waiting for their next invocation.
    idle: Mutex<Vec<ExecutionEnvironment>>,
}

impl Invoker {
    pub fn new(registry: Arc<Registry>, sandbox: Sandbox) -> Invoker {
        Invoker {
            registry,
            sandbox,
            deployed: tokio::sync::Mutex::new(HashMap::new()),
            routes: RwLock::default(),
            running: Mutex::default(),
        }
    }

    /// Checks that `qualifier` of `name` can be invoked (DryRun) and says which version would run.
    pub async fn check(&self, name: &str, qualifier: Option<&str>) -> Result<String, ApiError> {
        let target = self
            .registry
            .invocation_target(name, qualifier, random_unit())
            .await?;
        Ok(target.configuration.version)
    }

    /// Runs one invocation to completion.
    pub async fn invoke(
        &self,
        name: &str,
        qualifier: Option<&str>,
        request: InvokeRequest,
    ) -> Result<SyncResult, ApiError> {
        let ready = self.prepare(name, qualifier).await?;
        Ok(ready.run(request).await)
    }

    /// Resolves the version to run (weighted aliases roll here), takes a concurrency slot (a
    /// 429 when the function's reserved concurrency is in use) and prepares the version.
    pub async fn prepare(&self, name: &str, qualifier: Option<&str>) -> Result<Ready, ApiError> {
        let route = self.route(name, qualifier).await?;
        let leg = match &route.additional {
            Some((weight, additional)) if random_unit() < *weight => additional,
            _ => &route.primary,
        };
        let slot = ConcurrencySlot::take(&route.running, route.reserved_concurrency)?;
        Ok(Ready {
            executed_version: leg.executed_version.clone(),
            invoked_function_arn: leg.invoked_function_arn.clone(),
            deployed: leg.deployed.clone(),
            _slot: slot,
        })
    }

    /// The cached route of `name:qualifier`, resolved again after any registry write.
    async fn route(&self, name: &str, qualifier: Option<&str>) -> Result<Arc<Route>, ApiError> {
        let key = format!("{name}:{}", qualifier.unwrap_or(""));
        let cached = read(&self.routes).get(&key).cloned();
        if let Some(route) = cached
            && route.generation == self.registry.generation()
        {
            return Ok(route);
        }
        let resolved = self.registry.invocation_route(name, qualifier).await?;
        let generation = resolved.generation;
        // A leg that cannot run fails only the calls routed to it: roll now, cache nothing.
        let healthy =
            resolved.primary.is_ok() && resolved.additional.as_ref().is_none_or(|(_, leg)| leg.is_ok());
        let (primary, additional) = if healthy {
            let additional = match resolved.additional {
                Some((weight, leg)) => Some((weight, self.leg(leg?).await?)),
                None => None,
            };
            (self.leg(resolved.primary?).await?, additional)
        } else {
            (self.leg(resolved.pick(random_unit())?).await?, None)
        };
        let running = lock(&self.running).entry(name.to_string()).or_default().clone();
        let route = Arc::new(Route {
            generation,
            reserved_concurrency: primary.reserved_concurrency,
            primary: primary.leg,
            additional: additional.map(|(weight, leg)| (weight, leg.leg)),
            running,
        });
        if healthy {
            write(&self.routes).insert(key, route.clone());
        }
        Ok(route)
    }

    async fn leg(&self, target: InvocationTarget) -> Result<PreparedLeg, ApiError> {
        let reserved_concurrency = target.reserved_concurrency;
        let executed_version = target.configuration.version.clone();
        let invoked_function_arn = target.invoked_function_arn.clone();
        let deployed = self.deploy(target).await?;
        Ok(PreparedLeg {
            leg: Leg {
                executed_version,
                invoked_function_arn,
                deployed,
            },
            reserved_concurrency,
        })
    }

    /// The prepared revision for `target`, preparing it on first use.
    async fn deploy(&self, target: InvocationTarget) -> Result<Arc<Deployed>, ApiError> {
        let config = &target.configuration;
        let key = (config.function_name.clone(), config.version.clone());
        let mut deployed = self.deployed.lock().await;
        if let Some(existing) = deployed.get(&key)
            && existing.revision_id == config.revision_id
        {
            return Ok(existing.clone());
        }
        let wasm = self.registry.code(&target.wasm_sha256).await?;
        let layer_arns: Vec<String> = config
            .layers
            .iter()
            .filter_map(|l| l.get("Arn").and_then(|a| a.as_str()).map(str::to_string))
            .collect();
        let spec = FunctionSpec {
            name: config.function_name.clone(),
            version: config.version.clone(),
            function_arn: self.registry.function_arn(&config.function_name),
            handler: config.handler.clone(),
            region: self.registry.region().to_string(),
            memory_mb: config.memory_size,
            timeout: std::time::Duration::from_secs(u64::from(config.timeout)),
            ephemeral_storage_mb: config.ephemeral_storage.size,
            environment: config
                .environment
                .as_ref()
                .map(|e| e.variables.clone())
                .unwrap_or_default(),
            initialization_type: "on-demand".to_string(),
            opt_dir: self.registry.opt_dir(&layer_arns).await?,
        };
        let sandbox = self.sandbox.clone();
        let function = tokio::task::spawn_blocking(move || {
            let code = sandbox.load(&wasm)?;
            sandbox.prepare(&code, spec)
        })
        .await
        .map_err(|e| ApiError::Service(format!("preparing the function: {e}")))?
        .map_err(|e| ApiError::InvalidZipFile(e.to_string()))?;
        let entry = Arc::new(Deployed {
            revision_id: config.revision_id.clone(),
            function,
            idle: Mutex::new(Vec::new()),
        });
        deployed.insert(key, entry.clone());
        Ok(entry)
    }
}

/// A leg with what its target said about the function's concurrency.
struct PreparedLeg {
    leg: Leg,
    reserved_concurrency: Option<u32>,
}

/// One running invocation counted against its function's reserved concurrency; released on drop.
struct ConcurrencySlot {
    running: Arc<AtomicU32>,
}

impl ConcurrencySlot {
    fn take(running: &Arc<AtomicU32>, reserved: Option<u32>) -> Result<ConcurrencySlot, ApiError> {
        running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| match reserved {
                Some(limit) if now >= limit => None,
                _ => Some(now + 1),
            })
            .map_err(|_| {
                ApiError::TooManyRequests(
                    "Rate Exceeded.".into(),
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                )
            })?;
        Ok(ConcurrencySlot {
            running: running.clone(),
        })
    }
}

impl Drop for ConcurrencySlot {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A version about to run: resolved, admitted and prepared, so the response can name it before
/// it runs.
pub struct Ready {
    pub executed_version: String,
    invoked_function_arn: String,
    deployed: Arc<Deployed>,
    /// Held until the invocation ends.
    _slot: ConcurrencySlot,
}

impl Ready {
    /// Runs the invocation in a warm environment (or a new one). The invoked ARN is filled in;
    /// chunks go to `request.stream` when it is set.
    pub async fn run(&self, mut request: InvokeRequest) -> SyncResult {
        let request_id = request
            .request_id
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        request.invoked_function_arn = Some(self.invoked_function_arn.clone());
        let deployed = &self.deployed;
        let idle = lock(&deployed.idle).pop();
        let mut environment = match idle {
            Some(environment) => environment,
            None => match ExecutionEnvironment::start(&deployed.function).await {
                Ok(environment) => environment,
                Err(failure) => {
                    return SyncResult {
                        executed_version: self.executed_version.clone(),
                        request_id,
                        result: Err(failure.error),
                        log: failure.log,
                    };
                }
            },
        };
        let invocation = environment.invoke(request).await;
        if environment.is_reusable() {
            lock(&deployed.idle).push(environment);
        }
        SyncResult {
            executed_version: self.executed_version.clone(),
            request_id,
            result: invocation.result,
            log: invocation.log,
        }
    }
}

/// A uniform number in [0, 1) for weighted alias routing: the low 48 bits of a v4 UUID are all
/// random (its version and variant bits sit higher).
fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() & ((1u128 << 48) - 1);
    bits as f64 / (1u64 << 48) as f64
}

// A panic while a lock was held leaves data that is still consistent here (every critical
// section is a single insert, pop or push), so a poisoned lock is taken as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
