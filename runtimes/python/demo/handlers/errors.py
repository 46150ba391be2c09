import decimal
import sys


class PaymentDeclined(Exception):
    pass


def check(n):
    raise ValueError(f"bad n: {n}")


def raise_value_error(event, context):
    check(event["n"])


def raise_custom(event, context):
    raise PaymentDeclined("card **** 4242")


def return_set(event, context):
    return {1, 2}


def call_exit(event, context):
    sys.exit(3)


def marshal_kinds(event, context):
    return {"d": decimal.Decimal("1.10"), "nan": float("nan"), "s": "héllo ☃", "b": True}


def sleep(event, context):
    import time
    time.sleep(event["s"])
    return {"slept": event["s"]}


def hog(event, context):
    chunks = []
    while True:
        chunks.append(bytearray(8 << 20))
