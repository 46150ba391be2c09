//! init-heavy: spends ~200 ms in Init building a lookup table, then answers each event fast.

use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TABLE_LEN: usize = 1 << 17;
const INIT_BUDGET: Duration = Duration::from_millis(200);

/// Built once per execution environment (or once per snapshot, with SnapStart).
static TABLE: OnceLock<(Vec<u64>, u32)> = OnceLock::new();

fn build_table() -> Result<(), lambkin::Error> {
    let started = Instant::now();
    let mut table = vec![0u64; TABLE_LEN];
    let mut rounds = 0u32;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    // Refine the table in rounds until the init budget is spent.
    while rounds == 0 || started.elapsed() < INIT_BUDGET {
        for slot in table.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *slot = slot.wrapping_add(x);
        }
        rounds += 1;
    }
    let _ = TABLE.set((table, rounds));
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Event {
    pub index: usize,
}

#[lambkin::handler(init = build_table)]
pub fn lookup(event: Event, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let (table, rounds) = TABLE.get().ok_or("the table was not built in Init")?;
    let value = table[event.index % table.len()];
    Ok(json!({ "value": value, "rounds": rounds }))
}
