const sdk = require('some-package-that-is-not-there');
exports.handler = async () => sdk;
