# For SnapStart: Init (which runs once, before the snapshot) prints and reads files; the handler
# (which runs after a restore) prints, logs, reads a file and imports a module from the mount.
import logging
import os

print("init: printing before the snapshot")
with open(os.path.join(os.path.dirname(__file__), "pkg", "mod.py")) as f:
    INIT_READ = len(f.read())
logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    print("handler: printing after the restore")
    logger.info("handler: logging after the restore")
    with open(__file__) as f:
        size = len(f.read())
    import wave  # from the stdlib mount, after the restore
    with open("/tmp/x", "w") as f:
        f.write("tmp works")
    return {"init_read": INIT_READ, "read": size, "wave": wave.__name__,
            "tmp": open("/tmp/x").read(), "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")}
