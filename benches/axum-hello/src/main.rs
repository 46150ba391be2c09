//! The floor lambkin's Invoke is measured against: the same JSON greeting as the `hello` example,
//! answered by plain axum on the same tokio runtime, with no sandbox, registry or logs.
//!
//!     axum-hello 127.0.0.1:<port>

use axum::{Json, Router, routing::post};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
struct Greeting {
    message: String,
}

async fn hello(Json(event): Json<Event>) -> Json<Greeting> {
    let name = event.name.as_deref().unwrap_or("world");
    Json(Greeting {
        message: format!("Hello, {name}!"),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9101".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let app = Router::new().route("/{*path}", post(hello));
    axum::serve(listener, app).await
}
