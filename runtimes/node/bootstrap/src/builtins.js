// Node's built-in modules, by name (`require('stream')` and `require('node:stream')` alike).
// All of them are in the runtime's bundle and evaluated when the component is built, so they
// cost nothing at Init.

import { Buffer, SlowBuffer, INSPECT_MAX_BYTES, kMaxLength } from 'buffer';
import EventEmitter from 'events';
import stream from 'readable-stream';
import streamPromisesImpl from 'readable-stream/lib/stream/promises.js';
import { StringDecoder } from 'string_decoder';
import urlLegacy from 'url';
import querystringBase from 'querystring-es3';
import assert from 'assert';
import util from './util.js';
import path from './path.js';
import fs, { promises as fsPromises } from './fs.js';
import crypto from './crypto.js';
import process from './process.js';
import * as timers from './timers.js';
import { net, dns, dnsPromises } from './net.js';

const buffer = {
  Buffer,
  SlowBuffer,
  INSPECT_MAX_BYTES,
  kMaxLength,
  constants: { MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: 2 ** 29 - 24 },
  Blob: globalThis.Blob,
  atob: globalThis.atob,
  btoa: globalThis.btoa,
  isUtf8: (b) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(b);
      return true;
    } catch {
      return false;
    }
  },
};

const events = EventEmitter;
if (!events.on) {
  events.on = () => {
    throw new Error('events.on() is not supported');
  };
}

const streamPromises = streamPromisesImpl;
if (!stream.promises) Object.defineProperty(stream, 'promises', { value: streamPromises, enumerable: true });

async function collect(source) {
  const chunks = [];
  for await (const chunk of source) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const streamConsumers = {
  buffer: collect,
  arrayBuffer: async (s) => {
    const b = await collect(s);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  },
  text: async (s) => (await collect(s)).toString('utf8'),
  json: async (s) => JSON.parse((await collect(s)).toString('utf8')),
  blob: async (s) => new Blob([await collect(s)]),
};

const streamWeb = {
  ReadableStream: globalThis.ReadableStream,
  WritableStream: globalThis.WritableStream,
  TransformStream: globalThis.TransformStream,
  TextEncoderStream: globalThis.TextEncoderStream,
  TextDecoderStream: globalThis.TextDecoderStream,
  CompressionStream: globalThis.CompressionStream,
  DecompressionStream: globalThis.DecompressionStream,
};

function fileURLToPath(u) {
  const url = typeof u === 'string' ? new URL(u) : u;
  if (url.protocol !== 'file:') {
    const err = new TypeError('The URL must be of scheme file');
    err.code = 'ERR_INVALID_URL_SCHEME';
    throw err;
  }
  return decodeURIComponent(url.pathname);
}

function pathToFileURL(p) {
  const resolved = path.resolve(p);
  return new URL('file://' + resolved.split('/').map(encodeURIComponent).join('/'));
}

const url = {
  ...urlLegacy,
  URL: globalThis.URL,
  URLSearchParams: globalThis.URLSearchParams,
  fileURLToPath,
  pathToFileURL,
  domainToASCII: (d) => new URL(`http://${d}`).hostname,
  domainToUnicode: (d) => d,
};

const querystring = {
  ...querystringBase,
  escape: (s) => encodeURIComponent(s),
  unescape: (s) => decodeURIComponent(s),
};

const os = {
  EOL: '\n',
  devNull: '/dev/null',
  constants: { signals: {}, errno: {} },
  platform: () => 'linux',
  type: () => 'Linux',
  arch: () => 'wasm32',
  machine: () => 'wasm32',
  release: () => '5.10.0-lambkin',
  version: () => '#1 SMP',
  hostname: () => 'localhost',
  homedir: () => '/home/sbx_user1051',
  tmpdir: () => '/tmp',
  endianness: () => 'LE',
  uptime: () => performance.now() / 1000,
  loadavg: () => [0, 0, 0],
  totalmem: () => Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || 128) * 1048576,
  freemem: () => Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || 128) * 1048576,
  availableParallelism: () => 1,
  cpus: () => [{ model: 'wasm32', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } }],
  networkInterfaces: () => ({}),
  userInfo: () => ({ uid: 993, gid: 990, username: 'sbx_user1051', homedir: '/home/sbx_user1051', shell: null }),
};

/** AsyncLocalStorage without async hooks: the store holds while `run`'s callback (and the
 * promise it returns) is pending. Invocations run one at a time, which is what makes this usable. */
class AsyncLocalStorage {
  constructor() {
    this._store = undefined;
  }
  getStore() {
    return this._store;
  }
  run(store, callback, ...args) {
    const previous = this._store;
    this._store = store;
    let result;
    try {
      result = callback(...args);
    } catch (e) {
      this._store = previous;
      throw e;
    }
    if (result && typeof result.then === 'function') {
      return result.finally(() => {
        this._store = previous;
      });
    }
    this._store = previous;
    return result;
  }
  enterWith(store) {
    this._store = store;
  }
  exit(callback, ...args) {
    return this.run(undefined, callback, ...args);
  }
  disable() {
    this._store = undefined;
  }
  static bind(fn) {
    return fn;
  }
  static snapshot() {
    return (fn, ...args) => fn(...args);
  }
}

const asyncHooks = {
  AsyncLocalStorage,
  AsyncResource: class AsyncResource {
    runInAsyncScope(fn, thisArg, ...args) {
      return fn.apply(thisArg, args);
    }
    bind(fn) {
      return fn;
    }
    static bind(fn) {
      return fn;
    }
  },
  createHook: () => ({ enable() {}, disable() {} }),
  executionAsyncId: () => 1,
  triggerAsyncId: () => 0,
};

const diagnosticsChannel = {
  channel: (name) => ({ name, hasSubscribers: false, publish() {}, subscribe() {}, unsubscribe() {} }),
  hasSubscribers: () => false,
  subscribe() {},
  unsubscribe() {},
  tracingChannel: () => ({ hasSubscribers: false, traceSync: (fn, ctx, thisArg, ...args) => fn.apply(thisArg, args), tracePromise: (fn, ctx, thisArg, ...args) => fn.apply(thisArg, args) }),
};

/** A module lambkin cannot provide (no network, no processes): loading it works, using it throws. */
function unavailable(name, why) {
  const fail = (member) => {
    const err = new Error(`${name}.${member} is not available in lambkin's Node.js runtime (${why})`);
    err.code = 'ERR_NOT_SUPPORTED';
    return err;
  };
  const target = {};
  return new Proxy(target, {
    get(_, member) {
      if (typeof member === 'symbol' || member === '__esModule' || member === 'then' || member === 'default') {
        return member === 'default' ? undefined : undefined;
      }
      return new Proxy(function () {}, {
        apply() {
          throw fail(String(member));
        },
        construct() {
          throw fail(String(member));
        },
        get(_t, p) {
          if (p === 'prototype') return {};
          return undefined;
        },
      });
    },
  });
}

// http and https: fetch is the HTTP client; tls: the host does TLS only for HTTP requests.
const NO_NETWORK = 'use fetch, or net for TCP';
const NO_PROCESSES = 'a function is one WebAssembly instance';

export const builtins = {
  assert,
  'assert/strict': assert.strict ?? assert,
  async_hooks: asyncHooks,
  buffer,
  child_process: unavailable('child_process', NO_PROCESSES),
  cluster: unavailable('cluster', NO_PROCESSES),
  get console() {
    return globalThis.console;
  },
  constants: { ...fs.constants },
  crypto,
  dgram: unavailable('dgram', NO_NETWORK),
  diagnostics_channel: diagnosticsChannel,
  dns,
  'dns/promises': dnsPromises,
  events,
  fs,
  'fs/promises': fsPromises,
  http: unavailable('http', NO_NETWORK),
  http2: unavailable('http2', NO_NETWORK),
  https: unavailable('https', NO_NETWORK),
  inspector: unavailable('inspector', 'no inspector'),
  net,
  os,
  path,
  'path/posix': path,
  'path/win32': path,
  perf_hooks: { performance: globalThis.performance, PerformanceObserver: class {} },
  process,
  punycode: undefined,
  querystring,
  readline: unavailable('readline', 'no terminal'),
  stream,
  'stream/consumers': streamConsumers,
  'stream/promises': streamPromises,
  'stream/web': streamWeb,
  string_decoder: { StringDecoder },
  timers: {
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    setInterval: timers.setInterval,
    clearInterval: timers.clearInterval,
    setImmediate: timers.setImmediate,
    clearImmediate: timers.clearImmediate,
    promises: timers.promises,
  },
  'timers/promises': timers.promises,
  tls: unavailable('tls', NO_NETWORK),
  tty: { isatty: () => false },
  url,
  util,
  'util/types': util.types,
  v8: unavailable('v8', 'the engine is SpiderMonkey'),
  vm: unavailable('vm', 'no separate contexts'),
  worker_threads: unavailable('worker_threads', NO_PROCESSES),
  zlib: unavailable('zlib', 'no compression library bundled'),
};
delete builtins.punycode;

/** The module a built-in name (with or without `node:`) stands for, or undefined. */
export function builtin(name) {
  const bare = name.startsWith('node:') ? name.slice(5) : name;
  return Object.prototype.hasOwnProperty.call(builtins, bare) ? builtins[bare] : undefined;
}

export const builtinModules = Object.keys(builtins);
