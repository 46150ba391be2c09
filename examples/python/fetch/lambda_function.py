"""fetch: calls the event's `url` with urllib.request (optional `method`, `headers`, `body`) and
answers the status, headers and body; it reaches only what the function's egress profile
allows (the Python twin of examples/fetch)."""

import urllib.request


def lambda_handler(event, context):
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
