// Function errors as Lambda's Node runtime reports them.
class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
  }
}

exports.thrown = async () => {
  throw new ValidationError('the order has no items');
};

exports.rejectString = async () => {
  // eslint-disable-next-line no-throw-literal
  throw 'a plain string';
};

exports.typeError = async (event) => event.missing.property;

exports.exit = async () => {
  process.exit(3);
};

exports.notAFunction = 42;

// Allocates until the function's memory (MemorySize) runs out.
exports.hog = async () => {
  const keep = [];
  for (;;) keep.push(new Uint8Array(1 << 20).fill(1));
};

// An exception thrown from a timer fails the invocation (Node's uncaughtException).
exports.timerThrows = (event, context, callback) => {
  setTimeout(() => {
    throw new Error('thrown in a timer');
  }, 5);
};
