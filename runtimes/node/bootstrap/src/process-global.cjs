// What the polyfills get for require('process'): the runtime's process object itself.
module.exports = require('./process.js').default;
