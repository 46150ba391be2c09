// `util`: npm's util@0.12.5 (Node's util of the browserify era: format, inspect, promisify,
// callbackify, inherits, deprecate, types) with what newer Node adds that handlers use: the
// global promisify.custom symbol, TextEncoder/TextDecoder, isDeepStrictEqual, errors printed with
// their stack, Map and Set contents, and `inspect.custom`.

import base from 'util/util.js';
import { nodeStack } from './stack.js';

const custom = Symbol.for('nodejs.util.promisify.custom');
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

function promisify(original) {
  if (typeof original !== 'function') {
    throw new TypeError('The "original" argument must be of type Function');
  }
  if (original[custom]) return original[custom];
  const fn = base.promisify(original);
  Object.defineProperty(fn, custom, { value: fn });
  return fn;
}
promisify.custom = custom;

function prepare(value, seen = new Set(), depth = 0) {
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (seen.has(value)) return value;
  if (typeof value[inspectCustom] === 'function') {
    return { inspect: () => String(value[inspectCustom](2 - depth, { stylize: (s) => s }, inspect)) };
  }
  if (value instanceof Error) return { inspect: () => nodeStack(value).join('\n') };
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => `${inspect(k)} => ${inspect(v)}`);
    return { inspect: () => `Map(${value.size}) {${entries.length ? ` ${entries.join(', ')} ` : ''}}` };
  }
  if (value instanceof Set) {
    const entries = [...value].map((v) => inspect(v));
    return { inspect: () => `Set(${value.size}) {${entries.length ? ` ${entries.join(', ')} ` : ''}}` };
  }
  return value;
}

function inspect(value, options) {
  const prepared = prepare(value);
  if (prepared !== value && typeof prepared?.inspect === 'function') return prepared.inspect();
  return base.inspect(value, options);
}
inspect.custom = inspectCustom;
inspect.colors = base.inspect.colors;
inspect.styles = base.inspect.styles;
inspect.defaultOptions = { depth: 2, colors: false, showHidden: false };

function format(...args) {
  if (typeof args[0] !== 'string') {
    return args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ');
  }
  return base.format(...args.map((a, i) => (i === 0 ? a : pre(a))));
}

function pre(a) {
  const p = prepare(a);
  return p !== a ? { inspect: p.inspect } : a;
}

function isDeepStrictEqual(a, b) {
  return deepEqual(a, b, new Map());
}

function deepEqual(a, b, seen) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k), seen)) return false;
    return true;
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k], seen)) return false;
  return true;
}

function stripVTControlCharacters(s) {
  // eslint-disable-next-line no-control-regex
  return String(s).replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

const util = {
  ...base,
  format,
  formatWithOptions: (_options, ...args) => format(...args),
  inspect,
  promisify,
  isDeepStrictEqual,
  stripVTControlCharacters,
  TextEncoder: globalThis.TextEncoder,
  TextDecoder: globalThis.TextDecoder,
  toUSVString: (s) => String(s).toWellFormed?.() ?? String(s),
  styleText: (_format, text) => text,
  aborted: (signal) => new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
};

export default util;
