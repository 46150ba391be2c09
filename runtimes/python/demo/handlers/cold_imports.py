# Imports at Init modules the snapshot does not hold, timing each (from the mounted .pyc).
import sys
import time

TIMES = {}
for _name in ("xml.sax", "email.mime.multipart", "smtplib", "wave", "plistlib", "xmlrpc.client", "pickletools", "pydoc", "unittest", "ftplib"):
    _t = time.perf_counter()
    __import__(_name)
    TIMES[_name] = round((time.perf_counter() - _t) * 1000, 2)


def lambda_handler(event, context):
    return TIMES
