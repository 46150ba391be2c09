//! Concurrency controls (seed 003, "Concurrency"): an account-wide limit, with each function's
//! reserved concurrency carved out of it; what is left is the unreserved pool that every function
//! without a reservation shares. Past either, a 429 with the model's `Reason`.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{InvokeError, ThrottleReason};

#[derive(Default)]
pub struct Concurrency {
    /// Invocations running now in functions without reserved concurrency.
    unreserved_running: AtomicU32,
    functions: Mutex<HashMap<String, Arc<FunctionCounters>>>,
}

/// One function's invocations, for its reservation and for observability.
#[derive(Default)]
pub struct FunctionCounters {
    running: AtomicU32,
    throttles: AtomicU64,
}

/// A function's counters as the observability endpoint shows them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionConcurrency {
    pub function: String,
    pub running: u32,
    pub throttles: u64,
}

/// How much a function may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Its own reserved concurrency.
    Reserved(u32),
    /// A share of the unreserved pool, of this size.
    Unreserved(u32),
}

impl FunctionCounters {
    /// Counts a throttle that another limit than concurrency (the node's capacity) decided.
    pub fn throttled(&self) {
        self.throttles.fetch_add(1, Ordering::Relaxed);
    }
}

impl Concurrency {
    /// The counters of `function` (made on first use; kept, one per function name).
    pub fn counters(&self, function: &str) -> Arc<FunctionCounters> {
        let mut functions = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        functions.entry(function.to_string()).or_default().clone()
    }

    /// Admits one invocation under `limit`, or says why not.
    pub fn admit(
        self: &Arc<Self>,
        function: &Arc<FunctionCounters>,
        limit: Limit,
    ) -> Result<Slot, InvokeError> {
        let (counter, cap, reason) = match limit {
            Limit::Reserved(cap) => (&function.running, cap, ThrottleReason::ReservedConcurrency),
            Limit::Unreserved(cap) => (&self.unreserved_running, cap, ThrottleReason::AccountConcurrency),
        };
        let admitted = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
            (now < cap).then_some(now + 1)
        });
        if admitted.is_err() {
            function.throttles.fetch_add(1, Ordering::Relaxed);
            return Err(InvokeError::Throttled(reason));
        }
        if matches!(limit, Limit::Unreserved(_)) {
            function.running.fetch_add(1, Ordering::AcqRel);
        }
        Ok(Slot {
            concurrency: self.clone(),
            function: function.clone(),
            unreserved: matches!(limit, Limit::Unreserved(_)),
        })
    }

    /// Every function's counters, by name.
    /// Invocations running now in functions without reserved concurrency.
    pub fn unreserved_running(&self) -> u32 {
        self.unreserved_running.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> Vec<FunctionConcurrency> {
        let functions = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = functions
            .iter()
            .map(|(name, c)| FunctionConcurrency {
                function: name.clone(),
                running: c.running.load(Ordering::Relaxed),
                throttles: c.throttles.load(Ordering::Relaxed),
            })
            .collect();
        out.sort_by(|a, b| a.function.cmp(&b.function));
        out
    }
}

/// One admitted invocation; released on drop.
pub struct Slot {
    concurrency: Arc<Concurrency>,
    function: Arc<FunctionCounters>,
    unreserved: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.function.running.fetch_sub(1, Ordering::AcqRel);
        if self.unreserved {
            self.concurrency.unreserved_running.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_unreserved_limits_throttle_with_their_reasons() {
        let concurrency = Arc::new(Concurrency::default());
        let (a, b) = (concurrency.counters("a"), concurrency.counters("b"));
        let held = concurrency.admit(&a, Limit::Reserved(1)).expect("first");
        let refused = concurrency.admit(&a, Limit::Reserved(1)).err().expect("second");
        assert!(matches!(
            refused,
            InvokeError::Throttled(ThrottleReason::ReservedConcurrency)
        ));
        drop(held);
        let _again = concurrency.admit(&a, Limit::Reserved(1)).expect("freed");
        let _b1 = concurrency.admit(&b, Limit::Unreserved(1)).expect("unreserved");
        let refused = concurrency
            .admit(&b, Limit::Unreserved(1))
            .err()
            .expect("pool full");
        assert!(matches!(
            refused,
            InvokeError::Throttled(ThrottleReason::AccountConcurrency)
        ));
        let snapshot = concurrency.snapshot();
        assert_eq!((snapshot[0].running, snapshot[0].throttles), (1, 1));
        assert_eq!((snapshot[1].running, snapshot[1].throttles), (1, 1));
    }
}
