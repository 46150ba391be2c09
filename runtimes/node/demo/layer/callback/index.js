// The callback form: the answer comes through callback(err, result), after a timer; a second
// timer still pending when the callback is called is waited for (callbackWaitsForEmptyEventLoop).
let invocations = 0;
exports.handler = function (event, context, callback) {
  invocations += 1;
  const started = Date.now();
  let late = false;
  setTimeout(() => {
    late = true;
    console.log('the late timer ran before the response went out');
  }, 50);
  setTimeout(() => callback(null, { invocations, waited: Date.now() - started, lateAtCallback: late }), 10);
};

exports.noWait = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('this timer outlived its invocation'), 200).unref();
  callback(null, 'answered without waiting');
};

exports.legacy = function (event, context) {
  context.succeed({ via: 'context.succeed' });
};

exports.fails = function (event, context, callback) {
  callback(new TypeError('bad input, via callback'));
};
