//! hog: allocates memory 1 MiB at a time, up to `mb` MiB or (without `mb`) until it dies.

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct Event {
    pub mb: Option<usize>,
}

#[lambkin::handler]
pub fn hog(event: Event, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let mut held: Vec<Vec<u8>> = Vec::new();
    while event.mb.is_none_or(|mb| held.len() < mb) {
        // Touch every page so the memory is really used.
        held.push(std::hint::black_box(vec![0xA5u8; 1 << 20]));
    }
    Ok(json!({ "allocated_mb": held.len() }))
}
