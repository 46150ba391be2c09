import requests  # not in the package: Runtime.ImportModuleError


def lambda_handler(event, context):
    return requests.get("https://example.com").status_code
