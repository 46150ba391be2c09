//! proxy-hello: `hello`'s greeting as a `wasi:http/proxy` component, not a lambkin function. It is
//! the wasm peer in benches/hot_path.py, served by `wasmtime serve`.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(ProxyHello);

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
struct Greeting {
    message: String,
}

struct ProxyHello;

impl wasip2::exports::http::incoming_handler::Guest for ProxyHello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let event = read_body(request)
            .and_then(|body| serde_json::from_slice::<Event>(&body).ok())
            .unwrap_or(Event { name: None });
        let name = event.name.as_deref().unwrap_or("world");
        let greeting = Greeting {
            message: format!("Hello, {name}!"),
        };
        let body = serde_json::to_vec(&greeting).unwrap_or_default();

        let headers = Fields::new();
        // A header the host refuses is left off: the body still goes out.
        let _ = headers.set("content-type", &[b"application/json".to_vec()]);
        let response = OutgoingResponse::new(headers);
        let Ok(outgoing) = response.body() else {
            return;
        };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(mut stream) = outgoing.write() {
            let _ = stream.write_all(&body);
            let _ = stream.flush();
        }
        let _ = OutgoingBody::finish(outgoing, None);
    }
}

fn read_body(request: IncomingRequest) -> Option<Vec<u8>> {
    let incoming = request.consume().ok()?;
    let mut body = Vec::new();
    {
        let mut stream = incoming.stream().ok()?;
        stream.read_to_end(&mut body).ok()?;
    }
    IncomingBody::finish(incoming);
    Some(body)
}
