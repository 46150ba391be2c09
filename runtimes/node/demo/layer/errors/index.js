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
