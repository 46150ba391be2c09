//! Running functions for the front door: each published version (and each revision of $LATEST)
//! is prepared once — code compiled or loaded from the compile cache, linked into an
//! `InstancePre`, layers unpacked — into an environment pool that keeps its warm environments.
//!
//! - [`Invoker`]: resolves what to run (cached routes), admits it under the concurrency limits,
//!   runs it in an environment of the version's pool; keeps provisioned concurrency allocated
//!   and shuts idle environments down.
//! - [`pool`]: the environments of one version ([`pool::EnvironmentPool`]).
//! - [`capacity`]: the node's budget of environments, shared by every pool (LRU eviction).
//! - [`concurrency`]: the account-wide limit and reserved concurrency.
//! - [`queue`]: the durable queue of asynchronous events ([`queue::AsyncQueue`]).
//! - [`journal`]: the queue's append-only log on local disk, one fsync per batch of changes.
//! - [`worker`]: delivers queued events with retries, and their records to destinations.
//! - [`record`]: the invocation record that destinations receive.
//! - [`Ready`] (`ready.rs`): a version about to run; its run counted in the metrics and traced
//!   as Init and Invoke spans.
//! - [`stream`]: a response read chunk by chunk under its size cap ([`stream::ResponseStream`]).
//! - [`hot_reload`]: code that is a local path, prepared again when the path changes.

pub mod capacity;
pub mod concurrency;
mod error;
pub mod hot_reload;
pub mod journal;
pub mod lifecycle;
pub mod pool;
pub mod queue;
mod ready;
pub mod record;
pub mod stream;
pub mod worker;

use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use capacity::{Capacity, CapacityReport};
use concurrency::{Concurrency, FunctionConcurrency, FunctionCounters, Limit};
pub use error::{InvokeError, QueueError, ThrottleReason};
use lambkin_registry::{InvocationTarget, Registry};
use lambkin_sandbox::{FunctionError, InvokeRequest, Sandbox};
use lambkin_telemetry::Telemetry;
use lambkin_telemetry::metrics::{PoolSnapshot, ResourceLabels, ResourceMetrics, Snapshot};
use pool::{EnvironmentPool, PoolCounts, ProvisionedStatus};
pub use ready::Ready;

/// Largest synchronous request payload, as Lambda's 6 MB.
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How long an on-demand environment may stay idle before it is shut down, unless configured.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How often the housekeeper looks for idle environments and registry changes.
const HOUSEKEEPING_TICK: Duration = Duration::from_millis(100);

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
    /// (function, version) → the prepared revision's environment pool.
    /// A std lock: held for a lookup or an insert only, never across a compile or an `.await`.
    deployed: Mutex<HashMap<(String, String), Arc<EnvironmentPool>>>,
    /// `function:qualifier` → what invoking it runs, valid while the registry's generation is
    /// unchanged: the invoke path touches the registry only after a write.
    routes: RwLock<HashMap<String, Arc<Route>>>,
    concurrency: Arc<Concurrency>,
    /// The node's environments, as many as the sandbox has instances for.
    capacity: Arc<Capacity>,
    telemetry: Telemetry,
}

/// A resolved function qualifier: its version (or, for a weighted alias, its two versions),
/// prepared, and what limits its concurrency.
struct Route {
    generation: u64,
    primary: Leg,
    additional: Option<(f64, Leg)>,
    limit: Limit,
    counters: Arc<FunctionCounters>,
}

/// One version a route may run.
struct Leg {
    executed_version: String,
    invoked_function_arn: String,
    pool: Arc<EnvironmentPool>,
    /// Hot reload: the path the pool's revision was prepared from, as it was then.
    watched: Option<hot_reload::Watched>,
    /// Its invocations, errors, throttles and durations, under the qualifier the caller named.
    metrics: Arc<ResourceMetrics>,
}

impl Route {
    /// Whether a hot-reloaded leg's code changed since the route was prepared.
    async fn code_changed(&self) -> bool {
        for leg in std::iter::once(&self.primary).chain(self.additional.as_ref().map(|(_, leg)| leg)) {
            if let Some(watched) = &leg.watched
                && watched.changed().await
            {
                return true;
            }
        }
        false
    }
}

fn route_key(name: &str, qualifier: Option<&str>) -> String {
    format!("{name}:{}", qualifier.unwrap_or(""))
}

/// One version's pool, for the observability endpoint.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolReport {
    pub function: String,
    pub version: String,
    #[serde(flatten)]
    pub counts: PoolCounts,
}

impl Invoker {
    pub fn new(registry: Arc<Registry>, sandbox: Sandbox, telemetry: Telemetry) -> Invoker {
        Invoker {
            registry,
            deployed: Mutex::default(),
            routes: RwLock::default(),
            concurrency: Arc::default(),
            capacity: Capacity::new(sandbox.environments()),
            sandbox,
            telemetry,
        }
    }

    /// The metrics and the tracer invocations record to.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Starts the housekeeper: shuts down environments idle for `idle_timeout` and keeps each
    /// provisioned concurrency configuration allocated (again after every registry change).
    pub fn spawn_housekeeping(self: &Arc<Self>, idle_timeout: Duration) -> tokio::task::JoinHandle<()> {
        let invoker = self.clone();
        tokio::spawn(async move {
            let mut seen = None;
            let mut tick = tokio::time::interval(HOUSEKEEPING_TICK);
            loop {
                tick.tick().await;
                let generation = invoker.registry.generation();
                if seen != Some(generation) {
                    seen = Some(generation);
                    invoker.forget_removed(generation);
                    invoker.allocate_provisioned().await;
                }
                let pools: Vec<_> = lock(&invoker.deployed).values().cloned().collect();
                let reaped: usize = pools.iter().map(|p| p.reap(idle_timeout)).sum();
                if reaped > 0 {
                    tracing::debug!(reaped, "idle execution environments shut down");
                    // Off the runtime's threads: trimming walks every arena.
                    let _ = tokio::task::spawn_blocking(lambkin_sandbox::return_freed_memory).await;
                }
            }
        })
    }

    /// Lets go of what deleted functions and versions held: their pools (with their idle
    /// environments and compiled code, and so its open file) and every route cached before
    /// `generation`. Invocations still running keep their own pool until they end.
    fn forget_removed(&self, generation: u64) {
        // Dropped after the locks: a pool's last reference shuts its environments down.
        let stale_routes: Vec<Arc<Route>> = {
            let mut routes = write(&self.routes);
            let stale: Vec<String> = routes
                .iter()
                .filter(|(_, route)| route.generation != generation)
                .map(|(key, _)| key.clone())
                .collect();
            stale.iter().filter_map(|key| routes.remove(key)).collect()
        };
        let removed: Vec<Arc<EnvironmentPool>> = {
            let mut deployed = lock(&self.deployed);
            let gone: Vec<_> = deployed
                .keys()
                .filter(|(function, version)| !self.registry.has_version(function, version))
                .cloned()
                .collect();
            gone.iter().filter_map(|key| deployed.remove(key)).collect()
        };
        drop(stale_routes);
        if !removed.is_empty() {
            tracing::debug!(
                pools = removed.len(),
                "pools of deleted functions and versions released"
            );
        }
    }

    /// Sets every pool's provisioned target from the registry's configurations (an alias's go
    /// to the version it points at). The housekeeper calls it after every registry change; a
    /// Put or Delete calls it at once.
    pub async fn allocate_provisioned(&self) {
        let mut targets: HashMap<(String, String), u32> = HashMap::new();
        for wanted in self.registry.provisioned_targets().await {
            let target = self
                .registry
                .invocation_route(&wanted.function, Some(&wanted.qualifier))
                .await
                .and_then(|route| route.primary);
            let pool = match target {
                Ok(target) => self.deploy_watched(target).await.map(|(pool, _)| pool),
                Err(e) => Err(e.into()),
            };
            match pool {
                Ok(pool) => {
                    let key = (wanted.function.clone(), pool.function.spec.version.clone());
                    *targets.entry(key).or_default() += wanted.requested;
                }
                Err(e) => tracing::warn!(
                    function = %wanted.function,
                    qualifier = %wanted.qualifier,
                    "cannot provision: {e}"
                ),
            }
        }
        for (key, pool) in lock(&self.deployed).iter() {
            pool.provision(targets.get(key).copied().unwrap_or(0));
        }
    }

    /// The allocation of `qualifier`'s provisioned concurrency of `requested` environments
    /// (nothing allocated yet when its version has no pool).
    pub async fn provisioned_status(&self, name: &str, qualifier: &str, requested: u32) -> ProvisionedStatus {
        let version = match self.registry.invocation_route(name, Some(qualifier)).await {
            Ok(route) => route.primary.map(|t| t.configuration.version),
            Err(e) => Err(e),
        };
        let pool = match version {
            Ok(version) => lock(&self.deployed).get(&(name.to_string(), version)).cloned(),
            Err(_) => None,
        };
        match pool {
            Some(pool) => pool.provisioned_status(requested),
            None => ProvisionedStatus {
                allocated: 0,
                available: 0,
                status: "IN_PROGRESS",
                reason: None,
            },
        }
    }

    /// Every pool's environments, every function's concurrency, and the node's budget.
    pub async fn report(&self) -> (Vec<PoolReport>, Vec<FunctionConcurrency>, CapacityReport) {
        let mut pools: Vec<PoolReport> = lock(&self.deployed)
            .iter()
            .map(|((function, version), pool)| PoolReport {
                function: function.clone(),
                version: version.clone(),
                counts: pool.counts(),
            })
            .collect();
        pools.sort_by(|a, b| (&a.function, &a.version).cmp(&(&b.function, &b.version)));
        (pools, self.concurrency.snapshot(), self.capacity.report())
    }

    /// The gauges a metrics scrape shows: environments by state, invocations running.
    pub fn metrics_snapshot(&self) -> Snapshot {
        let pools = lock(&self.deployed)
            .iter()
            .map(|((function, version), pool)| {
                let counts = pool.counts();
                PoolSnapshot {
                    function: function.clone(),
                    executed_version: version.clone(),
                    initializing: counts.initializing,
                    idle: counts.idle,
                    busy: counts.busy,
                    provisioned_ready: counts.provisioned_ready,
                    provisioned_busy: counts.provisioned_busy,
                    provisioned_target: counts.provisioned_target,
                }
            })
            .collect();
        Snapshot {
            pools,
            running: self
                .concurrency
                .snapshot()
                .into_iter()
                .map(|f| (f.function, f.running))
                .collect(),
            unreserved_running: self.concurrency.unreserved_running(),
            ..Snapshot::default()
        }
    }

    /// Checks that `qualifier` of `name` can be invoked (DryRun) and says which version would run.
    pub async fn check(&self, name: &str, qualifier: Option<&str>) -> Result<String, InvokeError> {
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
    ) -> Result<SyncResult, InvokeError> {
        let ready = self.prepare(name, qualifier).await?;
        Ok(ready.run(request).await)
    }

    /// Resolves the version to run (weighted aliases roll here), admits the invocation under the
    /// concurrency limits (a 429 past them), prepares the version and claims an environment (a
    /// 429 too when every one this node holds is in use).
    pub async fn prepare(&self, name: &str, qualifier: Option<&str>) -> Result<Ready, InvokeError> {
        let mut route = self.route(name, qualifier).await?;
        if route.code_changed().await {
            write(&self.routes).remove(&route_key(name, qualifier));
            route = self.route(name, qualifier).await?;
        }
        let leg = match &route.additional {
            Some((weight, additional)) if random_unit() < *weight => additional,
            _ => &route.primary,
        };
        let slot = match self.concurrency.admit(&route.counters, route.limit) {
            Ok(slot) => slot,
            Err(throttled) => {
                leg.metrics.throttled();
                return Err(throttled);
            }
        };
        let Some(claim) = leg.pool.claim() else {
            route.counters.throttled();
            leg.metrics.throttled();
            tracing::warn!(
                function = name,
                environments = self.sandbox.environments(),
                "throttled: every execution environment of this node is busy or initialising"
            );
            return Err(InvokeError::Throttled(ThrottleReason::NodeCapacity));
        };
        Ok(Ready {
            executed_version: leg.executed_version.clone(),
            invoked_function_arn: leg.invoked_function_arn.clone(),
            claim,
            metrics: leg.metrics.clone(),
            tracer: self.telemetry.tracer.clone(),
            _slot: slot,
        })
    }

    /// The cached route of `name:qualifier`, resolved again after any registry write.
    async fn route(&self, name: &str, qualifier: Option<&str>) -> Result<Arc<Route>, InvokeError> {
        let key = route_key(name, qualifier);
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
                Some((weight, leg)) => Some((weight, self.leg(name, qualifier, leg?).await?)),
                None => None,
            };
            (resolved.primary?, additional)
        } else {
            (resolved.pick(random_unit())?, None)
        };
        let limit = match primary.reserved_concurrency {
            Some(reserved) => Limit::Reserved(reserved),
            None => Limit::Unreserved(primary.unreserved_capacity),
        };
        let route = Arc::new(Route {
            generation,
            primary: self.leg(name, qualifier, primary).await?,
            additional,
            limit,
            counters: self.concurrency.counters(name),
        });
        if healthy {
            write(&self.routes).insert(key, route.clone());
        }
        Ok(route)
    }

    async fn leg(
        &self,
        name: &str,
        qualifier: Option<&str>,
        target: InvocationTarget,
    ) -> Result<Leg, InvokeError> {
        let executed_version = target.configuration.version.clone();
        let invoked_function_arn = target.invoked_function_arn.clone();
        let (pool, watched) = self.deploy_watched(target).await?;
        let labels = ResourceLabels::new(name, qualifier, &executed_version);
        Ok(Leg {
            executed_version,
            invoked_function_arn,
            pool,
            watched,
            metrics: Arc::new(self.telemetry.metrics.resource(&labels)),
        })
    }

    /// The prepared revision for `target`, and for hot-reloaded code the path as it was read.
    async fn deploy_watched(
        &self,
        target: InvocationTarget,
    ) -> Result<(Arc<EnvironmentPool>, Option<hot_reload::Watched>), InvokeError> {
        let watched = match &target.hot_reload {
            Some(path) => Some(hot_reload::Watched::read(path).await?),
            None => None,
        };
        let pool = self.deploy(target, watched.as_ref()).await?;
        Ok((pool, watched))
    }

    /// The prepared revision for `target` (from its SnapStart snapshot when it has one; for
    /// hot-reloaded code, from the path as `watched` read it), preparing it on first use.
    async fn deploy(
        &self,
        target: InvocationTarget,
        watched: Option<&hot_reload::Watched>,
    ) -> Result<Arc<EnvironmentPool>, InvokeError> {
        let config = &target.configuration;
        let key = (config.function_name.clone(), config.version.clone());
        let snapshot = target.snapshot_sha256.as_ref().filter(|_| watched.is_none());
        let code_sha256 = snapshot.unwrap_or(&target.wasm_sha256);
        // A new egress tag starts new environments, as new code does.
        let egress = target.egress_profile.as_deref().unwrap_or("");
        let revision = match watched {
            Some(watched) => format!(
                "{}/{code_sha256}/{egress}/{:016x}",
                config.revision_id, watched.fingerprint
            ),
            None => format!("{}/{code_sha256}/{egress}", config.revision_id),
        };
        let current = |deployed: &HashMap<_, Arc<EnvironmentPool>>| {
            deployed
                .get(&key)
                .filter(|existing| existing.revision == revision)
                .cloned()
        };
        if let Some(existing) = current(&lock(&self.deployed)) {
            return Ok(existing);
        }
        let hot_reload = watched.map(|w| w.path.as_path());
        let code = match hot_reload {
            // A component is the file as it is now; a managed runtime's is the runtime's.
            Some(path) if !self.registry.is_managed(&config.runtime) => {
                let file = lambkin_registry::hot_reload::component_path(path, &config.handler);
                let bytes = tokio::fs::read(&file)
                    .await
                    .map_err(|e| InvokeError::Unrunnable(format!("Cannot read {}: {e}", file.display())))?;
                self.sandbox.load_async(bytes.into()).await
            }
            // Code another version holds (every function of a managed runtime shares its
            // tens of megabytes) is neither read from the store nor hashed again.
            _ => match self.sandbox.loaded(code_sha256) {
                Some(code) => Ok(code),
                None => {
                    let code = self.registry.code(code_sha256).await?;
                    let (compiles, started) = (self.sandbox.compiles(), Instant::now());
                    let loaded = self.sandbox.load_async(code).await;
                    // The compile cache missed (a hit is a load, not a compile).
                    if self.sandbox.compiles() > compiles {
                        self.telemetry.metrics.compiled(started.elapsed());
                    }
                    loaded
                }
            },
        };
        let mut spec = lifecycle::function_spec(
            &self.registry,
            config,
            target.source_sha256.as_deref(),
            hot_reload,
        )
        .await?;
        spec.restored = snapshot.is_some();
        spec.egress_profile = target.egress_profile.clone();
        let function = code
            .and_then(|code| self.sandbox.prepare(&code, spec))
            .map_err(|e| InvokeError::Unrunnable(e.to_string()))?;
        let mut deployed = lock(&self.deployed);
        // Another invocation prepared the same revision meanwhile: one pool serves both.
        if let Some(existing) = current(&deployed) {
            return Ok(existing);
        }
        let entry = EnvironmentPool::new(
            revision,
            function,
            self.capacity.clone(),
            self.telemetry.metrics.clone(),
        );
        deployed.insert(key, entry.clone());
        Ok(entry)
    }
}

/// A uniform number in [0, 1) for weighted alias routing: the low 48 bits of a v4 UUID are all
/// random (its version and variant bits sit higher).
fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() & ((1u128 << 48) - 1);
    bits as f64 / (1u64 << 48) as f64
}

// A panic while a lock was held leaves data that is still consistent here (every critical
// section is a single insert or lookup), so a poisoned lock is taken as it is.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
