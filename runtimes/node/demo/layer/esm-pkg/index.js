// "type": "module": .js files are ES modules. Default and named imports, a namespace import,
// re-exports, top-level await, import.meta.
import makeGreeting, { punctuation as mark, VERSION } from './lib.js';
import * as lib from './lib.js';
export { VERSION } from './lib.js';

const settings = await Promise.resolve({ loadedAt: 'init' });

export async function handler(event) {
  return {
    greeting: makeGreeting(event.name ?? 'ESM') + mark,
    names: Object.keys(lib).sort(),
    version: VERSION,
    settings,
    url: import.meta.url,
  };
}
