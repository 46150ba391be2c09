// Stand-in for src/builtins.js in the tests: a few names, each its own marker object.
const names = ['fs', 'path', 'util', 'stream', 'events', 'crypto'];
export const builtins = Object.fromEntries(names.map((n) => [n, { builtin: n }]));
export function builtin(name) {
  const bare = name.startsWith('node:') ? name.slice(5) : name;
  return builtins[bare];
}
export const builtinModules = names;
