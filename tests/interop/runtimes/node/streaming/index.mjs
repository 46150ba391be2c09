// From the seeds: the AWS Lambda Developer Guide (seed document 003_50d764b17c0b3329.txt), "Tutorial:
// Creating a response streaming Lambda function with a function URL", step 1: index.mjs.
import util from 'util';
import stream from 'stream';
const { Readable } = stream;
const pipeline = util.promisify(stream.pipeline);

/* global awslambda */
export const handler = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  const requestStream = Readable.from(Buffer.from(JSON.stringify(event)));
  await pipeline(requestStream, responseStream);
});
