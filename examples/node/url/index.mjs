// url: a function URL handler that reads the payload-2.0 event and answers with an HTTP response.

export const handler = async (event) => {
  const { method } = event.requestContext.http;
  const query = event.queryStringParameters ?? {};
  let body = event.body ?? "";
  if (event.isBase64Encoded) body = Buffer.from(body, "base64").toString("utf8");
  return {
    statusCode: 200,
    headers: { "content-type": "application/json", "x-example": "node-url" },
    body: JSON.stringify({
      method,
      path: event.rawPath,
      greeting: `Hello, ${query.name ?? "world"}!`,
      received: body,
    }),
  };
};
