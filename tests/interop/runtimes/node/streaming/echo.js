// From the seeds: the AWS Lambda Developer Guide (seed document 003_50d764b17c0b3329.txt), "Configuring
// a handler function to stream responses": "Example response streaming-enabled handler".
const pipeline = require("util").promisify(require("stream").pipeline);
const { Readable } = require('stream');

exports.echo = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  // As an example, convert event to a readable stream.
  const requestStream = Readable.from(Buffer.from(JSON.stringify(event)));

  await pipeline(requestStream, responseStream);
});
