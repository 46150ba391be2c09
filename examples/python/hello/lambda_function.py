"""hello: returns a greeting built from the event's `name` (the Python twin of examples/hello)."""

import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    name = event.get("name") or "world"
    logger.info("greeting %s in %s", name, context.function_name)
    return {"message": f"Hello, {name}!"}
