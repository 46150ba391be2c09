// Node's `process`: env from WASI's environment (filled in at Init), nextTick on the microtask
// queue, hrtime from performance.now, stdout/stderr writing to WASI's.

import { EventEmitter } from 'events';
import { writeStdio } from './wasi.js';

const process = new EventEmitter();

export const NODE_VERSION = 'v20.18.0';

function hrtime(previous) {
  const now = performance.timeOrigin + performance.now();
  let s = Math.floor(now / 1000);
  let ns = Math.floor((now % 1000) * 1e6);
  if (previous) {
    s -= previous[0];
    ns -= previous[1];
    if (ns < 0) {
      s -= 1;
      ns += 1e9;
    }
  }
  return [s, ns];
}
hrtime.bigint = () => BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1e6));

class ExitError extends Error {
  constructor(code) {
    super(`Runtime exited with error: exit status ${code}`);
    this.name = 'Runtime.ExitError';
    this.exitCode = code;
  }
}

function stdio(fd) {
  return {
    fd,
    isTTY: false,
    writable: true,
    write(chunk, encoding, callback) {
      if (typeof encoding === 'function') callback = encoding;
      writeStdio(fd, typeof chunk === 'string' ? chunk : new Uint8Array(chunk.buffer ?? chunk, chunk.byteOffset ?? 0, chunk.byteLength ?? chunk.length));
      if (callback) queueMicrotask(callback);
      return true;
    },
    end() {},
    on() {
      return this;
    },
    once() {
      return this;
    },
    emit() {
      return false;
    },
    removeListener() {
      return this;
    },
  };
}

Object.assign(process, {
  title: 'node',
  version: NODE_VERSION,
  versions: { node: NODE_VERSION.slice(1), starlingmonkey: 'componentize-js 0.23.0', lambkin: '0.1.0' },
  release: { name: 'node', lts: 'Iron' },
  platform: 'linux',
  arch: 'wasm32',
  pid: 1,
  ppid: 0,
  argv: ['/var/lang/bin/node', '/var/runtime/index.mjs'],
  argv0: 'node',
  execArgv: [],
  execPath: '/var/lang/bin/node',
  exitCode: undefined,
  env: {},
  config: { variables: {} },
  features: {},
  browser: false,
  cwd: () => process.env.LAMBDA_TASK_ROOT || '/var/task',
  chdir() {
    throw new Error('process.chdir() is not supported');
  },
  umask: () => 0o22,
  getuid: () => 993,
  getgid: () => 990,
  geteuid: () => 993,
  getegid: () => 990,
  hrtime,
  uptime: () => performance.now() / 1000,
  memoryUsage: Object.assign(() => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }), {
    rss: () => 0,
  }),
  cpuUsage: () => ({ user: 0, system: 0 }),
  resourceUsage: () => ({}),
  nextTick(callback, ...args) {
    queueMicrotask(() => callback(...args));
  },
  emitWarning(warning, type) {
    const text = typeof warning === 'string' ? `${type || 'Warning'}: ${warning}` : `${warning.name}: ${warning.message}`;
    globalThis.console?.warn?.(`(node:1) ${text}`);
  },
  exit(code) {
    throw new ExitError(code ?? process.exitCode ?? 0);
  },
  abort() {
    throw new ExitError(134);
  },
  kill() {
    throw new Error('process.kill() is not supported');
  },
  binding() {
    throw new Error('process.binding() is not supported');
  },
  stdout: stdio(1),
  stderr: stdio(2),
  stdin: { fd: 0, isTTY: false, on() {}, read: () => null },
});

export { ExitError };
export default process;
