import logging
import sys

log = logging.getLogger("demo")


def lambda_handler(event, context):
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    log.debug("a debug record")
    log.info("an info record")
    logging.warning("a warning record with %s", "args")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("an exception record")
    context.log("context.log line\n")
    return {"handlers": len(logging.getLogger().handlers), "level": logging.getLogger().level}
