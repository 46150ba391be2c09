//! The execution environments of one prepared function version (seed 003, "Lambda execution
//! environment lifecycle"). A warm environment is reused, one invocation at a time; when none is
//! idle a new one starts (a cold start); one that crashed, trapped or timed out is dropped, so the
//! next invocation initialises afresh; idle on-demand environments are shut down after the idle
//! timeout; provisioned ones (seed 002) are initialised ahead, kept, and taken first.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lambkin_sandbox::{
    ExecutionEnvironment, InitFailure, Initialization, Invocation, InvokeRequest, PreparedFunction,
};

pub struct EnvironmentPool {
    /// The configuration revision and code it was prepared from: a new one gets a new pool.
    pub revision: String,
    pub function: Arc<PreparedFunction>,
    state: Mutex<PoolState>,
    /// Environments started for an invocation that found none idle.
    cold_starts: AtomicU64,
}

#[derive(Default)]
struct PoolState {
    /// On-demand environments waiting, with when each went idle; the warmest last.
    idle: Vec<(ExecutionEnvironment, Instant)>,
    /// Provisioned environments waiting; taken before any on-demand one.
    ready: Vec<ExecutionEnvironment>,
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
    pub provisioned_target: u32,
    pub cold_starts: u64,
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
    environment: Option<ExecutionEnvironment>,
    provisioned: bool,
    finished: bool,
}

impl Lease {
    pub async fn invoke(&mut self, request: InvokeRequest) -> Option<Invocation> {
        let environment = self.environment.as_mut()?;
        let invocation = environment.invoke(request).await;
        self.finished = true;
        Some(invocation)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let environment = self
            .environment
            .take()
            .filter(|e| self.finished && e.is_reusable());
        self.pool.give_back(environment, self.provisioned);
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
    pub fn new(revision: String, function: Arc<PreparedFunction>) -> EnvironmentPool {
        EnvironmentPool {
            revision,
            function,
            state: Mutex::default(),
            cold_starts: AtomicU64::new(0),
        }
    }

    /// An environment for one invocation: a provisioned one if any is ready, else the warmest
    /// idle one, else a new one (a cold start, Init included).
    pub async fn take(self: &Arc<Self>) -> Result<Lease, InitFailure> {
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
                return Ok(lease(environment, true));
            }
            if let Some((environment, _)) = state.idle.pop() {
                state.busy += 1;
                return Ok(lease(environment, false));
            }
            state.initializing += 1;
        }
        let initializing = Initializing(self);
        self.cold_starts.fetch_add(1, Ordering::Relaxed);
        let kind = match self.function.spec.restored {
            true => Initialization::SnapStart,
            false => Initialization::OnDemand,
        };
        let started = ExecutionEnvironment::start_as(&self.function, kind).await;
        drop(initializing);
        let environment = started?;
        self.lock().busy += 1;
        Ok(lease(environment, false))
    }

    fn give_back(self: &Arc<Self>, environment: Option<ExecutionEnvironment>, provisioned: bool) {
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
        let started = ExecutionEnvironment::start_as(&self.function, Initialization::Provisioned).await;
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
            provisioned_target: state.provisioned.target,
            cold_starts: self.cold_starts.load(Ordering::Relaxed),
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
