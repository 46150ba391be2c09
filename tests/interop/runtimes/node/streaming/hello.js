// From the seeds: the AWS Lambda Developer Guide (seed document 003_50d764b17c0b3329.txt), "Ending the
// stream": "Example ending a stream without pipeline()".
exports.handler = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  responseStream.write("Hello ");
  responseStream.write("world ");
  responseStream.write("from ");
  responseStream.write("Lambda!");
  responseStream.end();
});
