//! The node's execution environments as one budget shared by every function: the engine has
//! instances for a fixed number of them. A cold start takes a place in the budget; when none is
//! free, the environment idle the longest — of any function — is shut down to make room (Lambda
//! too reclaims idle environments whenever it needs to); when every environment is busy or
//! initialising, the invocation is throttled rather than failed.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::pool::EnvironmentPool;

pub struct Capacity {
    limit: u32,
    /// Environments that exist: initialising, idle, busy or provisioned. An atomic, not a lock:
    /// a place is given back wherever an environment is dropped, pool locks held or not.
    live: AtomicU32,
    /// Every pool that may hold idle environments, to find the least recently used one.
    /// A std lock, held to register a pool or to copy the list, never across a pool's lock.
    pools: Mutex<Vec<Weak<EnvironmentPool>>>,
    evictions: AtomicU64,
}

/// One environment's place in the budget, given back when dropped.
pub struct Place {
    capacity: Arc<Capacity>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.capacity.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The budget as `/lambkin/pools` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReport {
    pub limit: u32,
    pub live: u32,
    /// Idle environments shut down to make room for another function's.
    pub evictions: u64,
}

impl Capacity {
    pub fn new(limit: u32) -> Arc<Capacity> {
        Arc::new(Capacity {
            limit,
            live: AtomicU32::new(0),
            pools: Mutex::default(),
            evictions: AtomicU64::new(0),
        })
    }

    /// Makes `pool`'s idle environments candidates for eviction.
    pub fn register(&self, pool: &Arc<EnvironmentPool>) {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(pool));
    }

    /// A place for one more environment, evicting the least recently used idle one when the
    /// budget is spent; `None` when every environment is busy or initialising.
    pub fn acquire(self: &Arc<Self>) -> Option<Place> {
        loop {
            let taken = self
                .live
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                    (live < self.limit).then_some(live + 1)
                });
            if taken.is_ok() {
                return Some(Place {
                    capacity: self.clone(),
                });
            }
            // Each eviction frees a place (another caller may take it first: then look again).
            if !self.evict_least_recently_used() {
                return None;
            }
        }
    }

    /// Shuts down the environment idle the longest; false when no environment is idle.
    fn evict_least_recently_used(&self) -> bool {
        let pools: Vec<Arc<EnvironmentPool>> = {
            let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
            pools.iter().filter_map(Weak::upgrade).collect()
        };
        loop {
            let oldest: Option<(Instant, &Arc<EnvironmentPool>)> = pools
                .iter()
                .filter_map(|pool| pool.least_recently_used().map(|since| (since, pool)))
                .min_by_key(|(since, _)| *since);
            let Some((since, pool)) = oldest else {
                return false;
            };
            // Taken by an invocation meanwhile: look again.
            if pool.evict(since) {
                let evictions = self.evictions.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    function = %pool.function.spec.name,
                    version = %pool.function.spec.version,
                    idle_ms = since.elapsed().as_millis() as u64,
                    evictions,
                    "idle execution environment shut down to make room"
                );
                return true;
            }
        }
    }

    pub fn report(&self) -> CapacityReport {
        CapacityReport {
            limit: self.limit,
            live: self.live.load(Ordering::Acquire),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}
