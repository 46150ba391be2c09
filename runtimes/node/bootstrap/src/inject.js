// esbuild `inject`: free `process` and `Buffer` in the bundled polyfills mean the runtime's own,
// whatever order the modules are evaluated in.
import process from './process.js';
import { Buffer } from 'buffer';
export { process, Buffer };
