//! spin: loops forever, burning CPU, until the host's timeout stops it.

use serde_json::Value;

#[lambkin::handler]
pub fn spin(_event: Value, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
