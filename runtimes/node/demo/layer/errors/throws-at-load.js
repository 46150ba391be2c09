const config = JSON.parse(process.env.CONFIG || '{"missing": true}');
if (config.missing) throw new RangeError('CONFIG is not set');
exports.handler = async () => config;
