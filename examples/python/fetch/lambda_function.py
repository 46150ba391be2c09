"""fetch: calls what its event names — an HTTP request with urllib.request (`url`, optional
`method`, `headers`, `body`) or a TCP exchange with socket (`tcp` as `host:port`, `send`, read
until the peer closes) — and answers what came back; it reaches only what the function's egress
profile allows (the Python twin of examples/fetch)."""

import socket
import urllib.request


def lambda_handler(event, context):
    if "tcp" in event:
        host, port = event["tcp"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(event.get("send", "").encode())
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return {"received": b"".join(chunks).decode()}
    body = event.get("body")
    request = urllib.request.Request(
        event["url"],
        data=body.encode() if body is not None else None,
        headers=event.get("headers", {}),
        method=event.get("method", "GET"),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {
            "status": response.status,
            "headers": {name.lower(): value for name, value in response.headers.items()},
            "body": response.read().decode(),
        }
