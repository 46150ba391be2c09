// Writes a chunk every `pause` ms: each write reaches the client as it is written.
const { setTimeout: sleep } = require('node:timers/promises');

exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const n = event.chunks ?? 4;
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(event.pause ?? 200);
    responseStream.write(`chunk ${i} at ${Date.now()}\n`);
  }
  responseStream.end();
});

exports.fails = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('partial ');
  throw new Error('failed mid-stream');
});
