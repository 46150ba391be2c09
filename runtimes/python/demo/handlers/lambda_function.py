import sys

CALLS = 0


def lambda_handler(event, context):
    global CALLS
    CALLS += 1
    boot = sys.modules["lambkin_bootstrap"]
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    cc = context.client_context
    return {
        "message": f"Hello, {event.get('name', 'world')}!",
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if cc is None else {"custom": cc.custom, "env": cc.env, "app_title": cc.client.app_title},
        "sys_path": sys.path,
        "executable_version": sys.version.split()[0],
        "bootstrap_init_ms": boot.init_ms,
        "bootstrap_timings": dict(boot.timings, init_ms=boot.init_ms, first_call=CALLS == 1),
    }
