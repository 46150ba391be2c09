//! The execution environments of one prepared function version (seed 003, "Lambda execution
//! environment lifecycle"). A warm environment is reused, one invocation at a time; when none is
//! idle a new one starts (a cold start); one that crashed, trapped or timed out is dropped, so the
//! next invocation initialises afresh; idle on-demand environments are shut down after the idle
//! timeout; provisioned ones (seed 002) are initialised ahead, kept, and taken first.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::capacity::{Capacity, Place};
use lambkin_sandbox::{
    ExecutionEnvironment, InitFailure, Initialization, Invocation, InvokeRequest, PreparedFunction,
};
use lambkin_telemetry::metrics::Metrics;

pub struct EnvironmentPool {
    /// The configuration revision and code it was prepared from: a new one gets a new pool.
    pub revision: String,
    pub function: Arc<PreparedFunction>,
    /// The node's budget of environments, which every environment of this pool has a place in.
    capacity: Arc<Capacity>,
    state: Mutex<PoolState>,
    /// Environments started for an invocation that found none idle.
    cold_starts: AtomicU64,
    /// Idle environments shut down to make room for another function's.
    evictions: AtomicU64,
    /// Where its environments' starts and Init durations are counted.
    metrics: Arc<Metrics>,
}

/// An environment with its place in the node's budget: the two go together.
struct Housed {
    environment: ExecutionEnvironment,
    _place: Place,
}

#[derive(Default)]
struct PoolState {
    /// On-demand environments waiting, with when each went idle; the warmest last.
    idle: Vec<(Housed, Instant)>,
    /// Provisioned environments waiting; taken before any on-demand one.
    ready: Vec<Housed>,
    /// On-demand environments in Init for an invocation.
    initializing: u32,
    /// Environments serving an invocation (provisioned ones included).
    busy: u32,
    provisioned: Provisioning,
}

#[derive(Default)]
struct Provisioning {
    /// How many provisioned environments are wanted.
    target: u32,
    /// Provisioned environments that exist: ready or busy.
    allocated: u32,
    /// Provisioned environments in Init.
    starting: u32,
    /// Provisioned environments serving an invocation.
    busy: u32,
    /// Why the last provisioned Init failed, until the target changes.
    failure: Option<String>,
}

/// What the pool holds, for the observability endpoint and the logs.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolCounts {
    pub initializing: u32,
    pub idle: u32,
    pub busy: u32,
    pub provisioned_ready: u32,
    /// Provisioned environments serving an invocation.
    pub provisioned_busy: u32,
    pub provisioned_target: u32,
    pub cold_starts: u64,
    pub evictions: u64,
}

/// Provisioned concurrency as GetProvisionedConcurrencyConfig reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedStatus {
    pub allocated: u32,
    /// Provisioned environments ready for an invocation now.
    pub available: u32,
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: &'static str,
    pub reason: Option<String>,
}

/// One environment out of the pool for one invocation. Dropped, it goes back if the invocation
/// finished and left it usable; an invocation cut short (its caller went away mid-call) leaves the
/// instance in an unknown state, so that environment is dropped.
pub struct Lease {
    pool: Arc<EnvironmentPool>,
    environment: Option<Housed>,
    provisioned: bool,
    finished: bool,
}

impl Lease {
    pub async fn invoke(&mut self, request: InvokeRequest) -> Option<Invocation> {
        let housed = self.environment.as_mut()?;
        let invocation = housed.environment.invoke(request).await;
        self.finished = true;
        Some(invocation)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let environment = self
            .environment
            .take()
            .filter(|e| self.finished && e.environment.is_reusable());
        self.pool.give_back(environment, self.provisioned);
    }
}

/// What an invocation holds before it runs: a warm environment, or a place for a cold start.
pub enum Claim {
    Warm(Lease),
    Cold(ColdStart),
}

/// A place in the node's budget for an environment this pool is about to start.
pub struct ColdStart {
    pool: Arc<EnvironmentPool>,
    place: Place,
}

impl Claim {
    /// The function it runs.
    pub fn function_name(&self) -> &str {
        let pool = match self {
            Claim::Warm(lease) => &lease.pool,
            Claim::Cold(cold) => &cold.pool,
        };
        &pool.function.spec.name
    }

    /// The environment to run in: the warm one, or a new one once its Init is done.
    pub async fn into_lease(self) -> Result<Lease, InitFailure> {
        match self {
            Claim::Warm(lease) => Ok(lease),
            Claim::Cold(cold) => cold.pool.start(cold.place).await,
        }
    }
}

/// Counts an on-demand Init in progress; undone however the Init ends (even cut short).
struct Initializing<'a>(&'a EnvironmentPool);

impl Drop for Initializing<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.initializing = state.initializing.saturating_sub(1);
    }
}

impl EnvironmentPool {
    pub fn new(
        revision: String,
        function: Arc<PreparedFunction>,
        capacity: Arc<Capacity>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let pool = Arc::new(EnvironmentPool {
            revision,
            function,
            capacity,
            metrics,
            state: Mutex::default(),
            cold_starts: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        });
        pool.capacity.register(&pool);
        pool
    }

    /// An environment for one invocation: a provisioned one if any is ready, else the warmest
    /// idle one, else a place for a new one (a cold start); `None` when the node has no place
    /// left (every environment of every function busy or initialising).
    pub fn claim(self: &Arc<Self>) -> Option<Claim> {
        let lease = |environment, provisioned| Lease {
            pool: self.clone(),
            environment: Some(environment),
            provisioned,
            finished: false,
        };
        {
            let mut state = self.lock();
            if let Some(environment) = state.ready.pop() {
                state.busy += 1;
                state.provisioned.busy += 1;
                return Some(Claim::Warm(lease(environment, true)));
            }
            if let Some((environment, _)) = state.idle.pop() {
                state.busy += 1;
                return Some(Claim::Warm(lease(environment, false)));
            }
        }
        // Outside this pool's lock: making room locks other pools (and may pick this one).
        let place = self.capacity.acquire()?;
        Some(Claim::Cold(ColdStart {
            pool: self.clone(),
            place,
        }))
    }

    /// Starts an environment in `place` for an invocation (Init included).
    async fn start(self: &Arc<Self>, place: Place) -> Result<Lease, InitFailure> {
        self.lock().initializing += 1;
        let initializing = Initializing(self);
        self.cold_starts.fetch_add(1, Ordering::Relaxed);
        let kind = match self.function.spec.restored {
            true => Initialization::SnapStart,
            false => Initialization::OnDemand,
        };
        let started = self.start_counted(kind).await;
        drop(initializing);
        let environment = Housed {
            environment: started?,
            _place: place,
        };
        self.lock().busy += 1;
        Ok(Lease {
            pool: self.clone(),
            environment: Some(environment),
            provisioned: false,
            finished: false,
        })
    }

    /// Starts an environment (its Init, or its restore from a snapshot), counted by Lambda's
    /// initialization type whether or not Init succeeds.
    async fn start_counted(&self, kind: Initialization) -> Result<ExecutionEnvironment, InitFailure> {
        let began = Instant::now();
        let started = ExecutionEnvironment::start_as(&self.function, kind).await;
        let spec = &self.function.spec;
        self.metrics
            .environment_started(&spec.name, &spec.version, kind.as_str(), began.elapsed());
        started
    }

    /// When this pool's least recently used idle environment went idle.
    pub(crate) fn least_recently_used(&self) -> Option<Instant> {
        self.lock().idle.first().map(|(_, since)| *since)
    }

    /// Shuts down the idle environment that went idle at `since`, if it is still idle.
    pub(crate) fn evict(&self, since: Instant) -> bool {
        let evicted = {
            let mut state = self.lock();
            match state.idle.first() {
                Some((_, first)) if *first == since => Some(state.idle.remove(0)),
                _ => None,
            }
        };
        // Dropped after the lock: shutting an environment down frees its instance.
        match evicted {
            Some(_) => {
                self.evictions.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    fn give_back(self: &Arc<Self>, environment: Option<Housed>, provisioned: bool) {
        let mut state = self.lock();
        state.busy = state.busy.saturating_sub(1);
        if !provisioned {
            if let Some(environment) = environment {
                state.idle.push((environment, Instant::now()));
            }
            return;
        }
        let p = &mut state.provisioned;
        p.busy = p.busy.saturating_sub(1);
        match environment {
            Some(environment) if p.allocated <= p.target => state.ready.push(environment),
            // Lowered target, or an environment lost to an error: one fewer allocated, and a
            // replacement if the target still wants it.
            _ => {
                p.allocated = p.allocated.saturating_sub(1);
                let target = p.target;
                drop(state);
                self.provision(target);
            }
        }
    }

    /// Sets how many provisioned environments this pool keeps and starts (in the background)
    /// those missing; surplus ready ones are shut down now, busy ones when they finish.
    pub fn provision(self: &Arc<Self>, target: u32) {
        let missing = {
            let mut state = self.lock();
            if state.provisioned.target != target {
                state.provisioned.failure = None;
            }
            state.provisioned.target = target;
            while state.provisioned.allocated > target && state.ready.pop().is_some() {
                state.provisioned.allocated -= 1;
            }
            let p = &mut state.provisioned;
            let missing = target.saturating_sub(p.allocated + p.starting);
            p.starting += missing;
            missing
        };
        for _ in 0..missing {
            let pool = self.clone();
            tokio::spawn(async move { pool.start_provisioned().await });
        }
    }

    async fn start_provisioned(self: Arc<Self>) {
        let Some(place) = self.capacity.acquire() else {
            let mut state = self.lock();
            state.provisioned.starting -= 1;
            state.provisioned.failure =
                Some("every execution environment this node holds is in use".to_string());
            return;
        };
        let started = self
            .start_counted(Initialization::Provisioned)
            .await
            .map(|environment| Housed {
                environment,
                _place: place,
            });
        let mut state = self.lock();
        state.provisioned.starting -= 1;
        match started {
            Ok(environment) if state.provisioned.allocated < state.provisioned.target => {
                state.provisioned.allocated += 1;
                state.ready.push(environment);
            }
            Ok(_) => {}
            Err(failure) => {
                tracing::warn!(
                    function = %self.function.spec.name,
                    version = %self.function.spec.version,
                    "provisioned Init failed: {}",
                    failure.error.error_message
                );
                state.provisioned.failure = Some(format!(
                    "{}: {}",
                    failure.error.error_type, failure.error.error_message
                ));
            }
        }
    }

    /// Shuts down the on-demand environments idle for longer than `idle_timeout` (Lambda's
    /// Shutdown phase); returns how many.
    pub fn reap(&self, idle_timeout: Duration) -> usize {
        let mut state = self.lock();
        let before = state.idle.len();
        state.idle.retain(|(_, since)| since.elapsed() < idle_timeout);
        before - state.idle.len()
    }

    pub fn counts(&self) -> PoolCounts {
        let state = self.lock();
        PoolCounts {
            initializing: state.initializing + state.provisioned.starting,
            idle: state.idle.len() as u32,
            busy: state.busy,
            provisioned_ready: state.ready.len() as u32,
            provisioned_busy: state.provisioned.busy,
            provisioned_target: state.provisioned.target,
            cold_starts: self.cold_starts.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }

    /// The allocation as a configuration asking for `requested` environments sees it.
    pub fn provisioned_status(&self, requested: u32) -> ProvisionedStatus {
        let state = self.lock();
        let p = &state.provisioned;
        let status = match (&p.failure, p.allocated >= requested) {
            (_, true) => "READY",
            (Some(_), false) => "FAILED",
            (None, false) => "IN_PROGRESS",
        };
        ProvisionedStatus {
            allocated: p.allocated,
            available: state.ready.len() as u32,
            status,
            reason: p.failure.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Every critical section is a few counter updates and one push or pop, consistent even
        // if a panic interrupted one: take a poisoned lock as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
