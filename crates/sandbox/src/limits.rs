//! MemorySize as a cap on linear memory, and the figures REPORT needs (Max Memory Used).

use wasmtime::ResourceLimiter;

/// Caps every linear memory of one execution environment at MemorySize and remembers whether a
/// growth was refused, which is how an out-of-memory abort is told apart from other traps.
pub struct MemoryLimiter {
    limit_bytes: usize,
    /// Largest memory size reached: REPORT's "Max Memory Used".
    pub peak_bytes: usize,
    /// Set when the guest asked for more than MemorySize: its abort is `Runtime.OutOfMemory`.
    pub refused: bool,
}

impl MemoryLimiter {
    pub fn new(memory_mb: u32) -> MemoryLimiter {
        MemoryLimiter {
            limit_bytes: (memory_mb as usize) << 20,
            peak_bytes: 0,
            refused: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any real function.
        Ok(desired <= 1_000_000)
    }
}

impl MemoryLimiter {
    /// The cap, in MB (MemorySize).
    pub fn limit_mb(&self) -> usize {
        self.limit_bytes >> 20
    }
}
