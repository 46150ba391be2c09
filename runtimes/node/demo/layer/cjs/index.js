// CommonJS, async: the context object as Lambda's Node runtime gives it.
exports.handler = async (event, context) => {
  console.info('event', event);
  return {
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    memoryLimitType: typeof context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    remainingMs: context.getRemainingTimeInMillis(),
    callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    clientContext: context.clientContext,
    identity: context.identity,
    traceId: process.env._X_AMZN_TRACE_ID,
    handlerEnv: process.env._HANDLER,
    region: process.env.AWS_REGION,
    custom: process.env.GREETING,
    filename: __filename,
    dirname: __dirname,
  };
};
