//! The process's one wasmtime `Engine` and the one thread that ticks its epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the resolution of timeouts and of CPU-bound guests' yields.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Instances beyond the execution environments: a SnapStart snapshot's Init runs in one, and at
/// most one per lifecycle worker runs at a time.
pub const SPARE_INSTANCES: u32 = 16;

/// Builds the engine: pooling allocator with copy-on-write memory images for `slots` instances
/// when the address space allows it, the on-demand allocator otherwise. Returns whether pooling
/// is in use.
pub fn build_engine(slots: u32) -> wasmtime::Result<(Engine, bool)> {
    if let Ok(engine) = Engine::new(&base_config(Some(pooling_config(slots)))) {
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

fn pooling_config(slots: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_memories(slots)
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
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

/// Memory budgeted per execution environment when the node's capacity is derived from its
/// memory: an idle Rust environment is far smaller, but an interpreter's (CPython, a JS engine)
/// holds 10–13 MiB resident, and a node should hold as many of those as it claims.
const MEMORY_PER_ENVIRONMENT: u64 = 16 << 20;

/// How many execution environments this machine holds by default: its memory (or its cgroup's
/// limit, in a container) at [`MEMORY_PER_ENVIRONMENT`] each, between 64 and 8,192 (each slot
/// reserves 4 GiB of address space; 8,192 of them are a quarter of what x86-64 gives a process).
pub fn default_environments() -> u32 {
    let memory = [physical_memory(), cgroup_memory_limit()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(4 << 30);
    (memory / MEMORY_PER_ENVIRONMENT).clamp(64, 8192) as u32
}

/// MemTotal of `/proc/meminfo`, in bytes.
fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The cgroup v2 memory limit of this process, when one is set (`max` means none).
fn cgroup_memory_limit() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let limit = std::fs::read_to_string(format!("/sys/fs/cgroup{}/memory.max", path.trim_end())).ok()?;
    limit.trim().parse().ok()
}
