// The globals a Node handler expects, installed when the runtime's bundle is evaluated (at build
// time, under wizer): process, Buffer, global, Node's timers, Lambda's console, awslambda, and
// fetch (StarlingMonkey's, over wasi:http) counted as pending work while it runs.

import { Buffer } from 'buffer';
import process from './process.js';
import * as timers from './timers.js';
import { console } from './console.js';
import { awslambda } from './streaming.js';

const g = globalThis;
g.global = g;
g.process = process;
g.Buffer = Buffer;
timers.install(g);
g.console = console;
g.awslambda = awslambda;

// A request in flight, or a body being read, keeps the loop open (an async handler awaiting it
// has not been abandoned).
if (typeof g.fetch === 'function') {
  const nativeFetch = g.fetch;
  g.fetch = function fetch(...args) {
    return timers.keepsLoopAlive(nativeFetch.apply(this, args)).catch((e) => {
      // StarlingMonkey reports every failed request as the same NetworkError; Node says "fetch
      // failed" with the cause. Whether lambkin's egress policy refused it, and by which rule,
      // the host has written to the function's log.
      if (!(e instanceof TypeError) || e.name === 'AbortError') throw e;
      throw new TypeError(`fetch failed: ${e.message} (if lambkin's egress policy refused the request, the function's log names the rule)`, { cause: e });
    });
  };
  for (const method of ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text']) {
    const read = g.Response?.prototype?.[method];
    if (typeof read !== 'function') continue;
    Object.defineProperty(g.Response.prototype, method, {
      value: function (...args) {
        return timers.keepsLoopAlive(read.apply(this, args));
      },
      writable: true,
      configurable: true,
    });
  }
}
