"""url: a function URL handler that reads the payload-2.0 event and answers with an HTTP response."""

import base64
import json


def lambda_handler(event, context):
    http = event["requestContext"]["http"]
    query = event.get("queryStringParameters") or {}
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-example": "python-url"},
        "body": json.dumps(
            {
                "method": http["method"],
                "path": event["rawPath"],
                "greeting": f"Hello, {query.get('name', 'world')}!",
                "received": body,
            }
        ),
    }
