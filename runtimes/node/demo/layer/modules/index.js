// require() of node_modules packages: one next to the code (main in package.json), real npm
// packages from the layer's nodejs/node_modules (Lambda's NODE_PATH), a JSON file, and an ES
// module package through its "exports" map.
const greeter = require('greeter');
const config = require('./config.json');
const _ = require('lodash');
const { v4: uuidv4, validate } = require('uuid');

exports.handler = async (event) => {
  const { nanoid } = await import('nanoid');
  const id = uuidv4();
  return {
    greeting: greeter.greet(event.name || 'world'),
    greeterFile: require.resolve('greeter'),
    config,
    lodash: _.chunk([1, 2, 3, 4, 5], 2),
    lodashFile: require.resolve('lodash'),
    uuidValid: validate(id),
    uuidFile: require.resolve('uuid'),
    nanoidLength: nanoid().length,
  };
};
