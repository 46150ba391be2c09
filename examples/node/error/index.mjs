// error: throws a custom Error subclass, which Lambda reports as an Unhandled function error.

class OrderNotFoundError extends Error {
  constructor(orderId) {
    super(`order ${orderId} does not exist`);
    this.name = "OrderNotFoundError";
  }
}

const findOrder = (orderId) => {
  throw new OrderNotFoundError(orderId);
};

export const handler = async (event) => findOrder(event.orderId ?? "unknown");
