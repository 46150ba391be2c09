// layer-dep: uses ms (package.json), a pure-JS package a layer puts in /opt/nodejs/node_modules.

const ms = require("ms");

exports.handler = async (event) => ({
  millis: ms(event.duration ?? "1m"),
  short: ms(event.millis ?? 0),
  long: ms(event.millis ?? 0, { long: true }),
  from: require.resolve("ms"),
});
