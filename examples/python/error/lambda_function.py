"""error: raises a custom exception, which Lambda reports as an Unhandled function error."""


class OrderNotFoundError(Exception):
    """The order named by the event does not exist."""


def find_order(order_id):
    raise OrderNotFoundError(f"order {order_id} does not exist")


def lambda_handler(event, context):
    return find_order(event.get("orderId", "unknown"))
