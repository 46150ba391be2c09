//! The process's one wasmtime `Engine` and the one thread that ticks its epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the resolution of timeouts and of CPU-bound guests' yields.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// How many instances the pooling allocator reserves slots for.
const POOL_SLOTS: u32 = 1000;

/// Builds the engine: pooling allocator with copy-on-write memory images when the address space
/// allows it, the on-demand allocator otherwise. Returns whether pooling is in use.
pub fn build_engine() -> wasmtime::Result<(Engine, bool)> {
    if let Ok(engine) = Engine::new(&base_config(Some(pooling_config()))) {
        return Ok((engine, true));
    }
    tracing::warn!("pooling allocator unavailable (address space?), using on-demand allocation");
    Ok((Engine::new(&base_config(None))?, false))
}

fn base_config(pooling: Option<PoolingAllocationConfig>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    if let Some(pool) = pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

fn pooling_config() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * 8)
        .total_memories(POOL_SLOTS)
        .total_tables(POOL_SLOTS * 4)
        .total_stacks(POOL_SLOTS)
        // A wasm32 memory never exceeds 4 GiB, whatever MemorySize says.
        .max_memory_size(4 << 30)
        // Reusing a slot by zeroing the pages a guest dirtied (found with PAGEMAP_SCAN where
        // the kernel has it) beats unmapping and faulting them in again on every cold start.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    pool
}

/// The single thread that advances the engine's epoch; stopped when dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("lambkin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
