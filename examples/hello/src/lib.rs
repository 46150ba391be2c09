//! hello: returns a greeting built from the event's `name`.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Event {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Greeting {
    pub message: String,
}

#[lambkin::handler]
pub fn hello(event: Event, _ctx: &lambkin::Context) -> Result<Greeting, lambkin::Error> {
    let name = event.name.as_deref().unwrap_or("world");
    Ok(Greeting {
        message: format!("Hello, {name}!"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_by_name_natively() {
        let event = Event {
            name: Some("Ada".into()),
        };
        let greeting = hello(event, &lambkin::Context::default()).unwrap();
        assert_eq!(greeting.message, "Hello, Ada!");
    }
}
