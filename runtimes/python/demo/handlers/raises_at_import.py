import os

CONFIG = os.environ["CONFIG"]  # KeyError at Init


def lambda_handler(event, context):
    return CONFIG
