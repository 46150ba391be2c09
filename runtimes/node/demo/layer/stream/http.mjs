// A RESPONSE_STREAM function URL's answer: status and headers first (the prelude), then the body.
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const httpStream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { 'content-type': 'text/plain', 'x-demo': 'streamed' },
  });
  httpStream.write('hello ');
  await new Promise((r) => setTimeout(r, 100));
  httpStream.write('from a streamed function URL\n');
  httpStream.end();
});
