// `console` as Lambda's Node runtime writes it (text log format; JSON further down):
//   <ISO timestamp>\t<request id>\t<LEVEL>\t<message>\n
// with newlines inside the message turned into carriage returns, so that one call is one log
// event. log/info/debug/trace go to stdout, warn/error to stderr. Before the first invocation
// (Init) the request id is "undefined", as in Lambda.

import util from './util.js';
import { writeStdio } from './wasi.js';

let requestId;

export function setRequestId(id) {
  requestId = id;
}

export function currentRequestId() {
  return requestId;
}

function line(level, message) {
  return `${new Date().toISOString()}\t${requestId}\t${level}\t${message.replace(/\n/g, '\r')}\n`;
}

// LoggingConfig's JSON format (Lambda sets AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL for it):
// one object a line, and nothing below the level.
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

function jsonLine(level, message) {
  const record = { timestamp: new Date().toISOString(), level, requestId, message };
  return `${JSON.stringify(record)}\n`;
}

/** The line `emit` writes for `level` under the format in `env`, or null when it is filtered. */
export function format(env, level, message) {
  if (env.AWS_LAMBDA_LOG_FORMAT !== 'JSON') return line(level, message);
  const threshold = LEVELS.indexOf((env.AWS_LAMBDA_LOG_LEVEL || 'INFO').toUpperCase());
  if (LEVELS.indexOf(level) < threshold) return null;
  return jsonLine(level, message);
}

/** Writes one log line at `level` (INFO, WARN, ERROR, DEBUG, TRACE, FATAL). */
export function emit(level, message, fd = 1) {
  // Read each time: the environment is the execution environment's, set after a snapshot.
  const text = format(globalThis.process?.env ?? {}, level, message);
  if (text !== null) writeStdio(fd, text);
}

const counts = new Map();
const timers = new Map();
let groupIndent = '';

function writer(level, fd) {
  return (...args) => emit(level, groupIndent + util.format(...args), fd);
}

export const console = {
  log: writer('INFO', 1),
  info: writer('INFO', 1),
  debug: writer('DEBUG', 1),
  warn: writer('WARN', 2),
  error: writer('ERROR', 2),
  trace(...args) {
    const err = new Error();
    const stack = (err.stack || '').split('\n').slice(1).filter(Boolean);
    emit('TRACE', groupIndent + ['Trace: ' + util.format(...args), ...stack.map((f) => `    at ${f}`)].join('\n'));
  },
  dir(obj, options) {
    emit('INFO', groupIndent + util.inspect(obj, { customInspect: false, ...options }));
  },
  dirxml(...args) {
    console.log(...args);
  },
  table(data) {
    console.log(data);
  },
  assert(value, ...args) {
    if (!value) {
      const rest = args.length ? util.format(...args) : '';
      console.error(rest ? `Assertion failed: ${rest}` : 'Assertion failed');
    }
  },
  count(label = 'default') {
    const n = (counts.get(label) || 0) + 1;
    counts.set(label, n);
    console.info(`${label}: ${n}`);
  },
  countReset(label = 'default') {
    counts.delete(label);
  },
  time(label = 'default') {
    timers.set(label, performance.now());
  },
  timeEnd(label = 'default') {
    console.timeLog(label);
    timers.delete(label);
  },
  timeLog(label = 'default', ...data) {
    const start = timers.get(label);
    if (start === undefined) return console.warn(`Warning: No such label '${label}' for console.timeLog()`);
    const ms = (performance.now() - start).toFixed(3);
    console.info(`${label}: ${ms}ms`, ...data);
  },
  group(...label) {
    if (label.length) console.log(...label);
    groupIndent += '  ';
  },
  groupCollapsed(...label) {
    console.group(...label);
  },
  groupEnd() {
    groupIndent = groupIndent.slice(2);
  },
};
