// lambkin's Node.js runtime: the component's exports.
//
// init(): reads the environment into process.env, finds the module `_HANDLER` names
//   (`file.export`, `dir/file.export`; .js, .mjs or .cjs) under LAMBDA_TASK_ROOT (/var/task),
//   then /opt, loads it and looks the handler up. Lambda's Init errors: Runtime.ImportModuleError,
//   Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound, Runtime.MalformedHandlerName.
// handle(event, context): parses the event, calls the handler with Lambda's context object
//   (async, promise-returning or callback style; streamifyResponse handlers get a response
//   stream whose writes go out through stream-write), and returns the result as JSON.

import './globals.js';
import { exit } from 'wasi:cli/exit@0.2.10';
import { reportPanic } from 'lambkin:function/runtime@0.1.0';
import { Buffer } from 'buffer';
import process, { ExitError } from './process.js';
import { emit, setRequestId } from './console.js';
import { whenIdle, onLoopEmpty, onUncaughtException } from './timers.js';
import { RuntimeError, NodeJsExit, toFunctionError, errorLogLine, classifyLoadError } from './errors.js';
import { findHandlerModule, loadMain, forgetFileSystem, traceLoads, useFastEsm } from './loader.js';
import { esmToCjs, fastEsmToCjs } from './transform.js';
import { ResponseStream, isStreaming, highWaterMark } from './streaming.js';
import { environment, releaseHandles } from './wasi.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Compile sucrase's hot paths while the component is built, so the first ES module a function
// loads does not pay for it.
const WARM = "import a, { b } from 'x';\nimport * as n from 'y';\nexport const c = await a(b, `${n}`, /r,/g);\nexport default function d() {}\nexport { c as e };\n";
esmToCjs(WARM, '/warm.mjs');
fastEsmToCjs(WARM);

let handler = null;
let initEnvironment = null;

function readEnvironment() {
  const env = {};
  for (const [k, v] of environment()) env[k] = v;
  return env;
}

/** The handler function `_HANDLER` names, loaded from the first root that has its module. */
async function loadHandler(handlerString) {
  const slash = handlerString.lastIndexOf('/');
  const moduleRoot = slash >= 0 ? handlerString.slice(0, slash) : '';
  const rest = handlerString.slice(slash + 1);
  const m = /^([^.]*)\.(.*)$/.exec(rest);
  if (!m || !m[1] || !m[2]) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, handlerPath] = m;
  const taskRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
  let file = null;
  for (const root of [taskRoot, '/opt']) {
    file = findHandlerModule(root, moduleRoot, moduleName);
    if (file) break;
  }
  if (!file) {
    throw new RuntimeError(
      'Runtime.ImportModuleError',
      `Error: Cannot find module '${moduleName}'\nRequire stack:\n- /var/runtime/index.mjs`,
    );
  }
  let module;
  try {
    module = await loadMain(file);
  } catch (e) {
    throw classifyLoadError(e);
  }
  let fn = module.exports;
  for (const part of handlerPath.split('.')) {
    fn = fn == null ? undefined : fn[part];
    if (fn === undefined && module.esm && part === handlerPath.split('.')[0]) fn = module.exports.default?.[part];
  }
  if (fn === undefined || fn === null) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${rest} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${rest} is not a function`);
  }
  return fn;
}

export async function init() {
  setRequestId(undefined);
  try {
    initEnvironment = readEnvironment();
    Object.assign(process.env, initEnvironment);
    traceLoads(process.env.LAMBKIN_NODE_TRACE_LOADS === '1');
    useFastEsm(process.env.LAMBKIN_NODE_ESM !== 'sucrase');
    const name = process.env._HANDLER;
    if (!name) throw new RuntimeError('Runtime.MalformedHandlerName', 'No handler specified: _HANDLER is empty');
    handler = await loadHandler(name);
  } catch (e) {
    throw fail('Uncaught Exception', e);
  } finally {
    // A snapshot taken now must hold no WASI handle.
    releaseHandles();
  }
}

/** After a snapshot is restored: this environment's own values of what Init read. */
function refreshAfterRestore() {
  const now = readEnvironment();
  if (now.AWS_LAMBDA_LOG_STREAM_NAME === initEnvironment?.AWS_LAMBDA_LOG_STREAM_NAME) return;
  for (const [k, v] of Object.entries(now)) {
    if (initEnvironment?.[k] === process.env[k]) process.env[k] = v;
  }
  initEnvironment = now;
  forgetFileSystem();
}

function parseJson(text) {
  if (text == null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function makeContext(c) {
  const deadline = Number(c.deadlineMs);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionVersion: c.functionVersion,
    functionName: c.functionName,
    memoryLimitInMB: String(c.memoryLimitMb),
    logGroupName: c.logGroupName,
    logStreamName: c.logStreamName,
    clientContext: parseJson(c.clientContext),
    identity: parseJson(c.identity),
    invokedFunctionArn: c.invokedFunctionArn,
    awsRequestId: c.requestId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Runs a buffered handler to its result: the promise it returns, or its callback. An
 * exception thrown by one of its timers fails it, as Node's uncaughtException would. */
function runHandler(fn, event, context) {
  let previous;
  let stop;
  return new Promise((resolve, reject) => {
    let settled = false;
    previous = onUncaughtException((e) => {
      if (settled) return previous(e);
      settled = true;
      reject(e);
    });
    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      const done = () => (err != null ? reject(err) : resolve(result));
      if (context.callbackWaitsForEmptyEventLoop) whenIdle().then(done);
      else done();
    };
    const callback = (err, result) => finish(err ?? null, result);
    context.done = (err, result) => finish(err ?? null, result);
    context.succeed = (result) => finish(null, result);
    context.fail = (err) => finish(err ?? 'handled', undefined);
    let returned;
    try {
      returned = fn(event, context, callback);
    } catch (e) {
      settled = true;
      return reject(e);
    }
    // The event loop empties with the handler unfinished: Lambda's runtime fails an async
    // handler with Runtime.NodeJsExit and answers null for any other.
    const isAsync = fn.constructor?.name === 'AsyncFunction';
    stop = onLoopEmpty(() => {
      if (settled) return;
      settled = true;
      if (isAsync) reject(new NodeJsExit());
      else resolve(null);
    });
    if (returned && typeof returned.then === 'function') {
      returned.then(
        (value) => {
          if (!settled) {
            settled = true;
            resolve(value);
          }
        },
        (e) => {
          if (!settled) {
            settled = true;
            reject(e);
          }
        },
      );
    }
  }).finally(() => {
    stop?.();
    onUncaughtException(previous);
  });
}

/** Runs a streaming handler until its stream has finished. */
async function runStreaming(fn, event, context) {
  const stream = new ResponseStream({ highWaterMark: highWaterMark(fn) });
  let failTimer;
  const finished = new Promise((resolve, reject) => {
    failTimer = reject;
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.on('close', () => (stream.writableFinished ? resolve() : reject(stream.errored ?? new Error('The response stream was destroyed before it finished'))));
  });
  const previous = onUncaughtException((e) => failTimer(e));
  try {
    const returned = fn(event, stream, context);
    if (returned && typeof returned.then === 'function') {
      await Promise.race([returned, finished]);
      // Lambda expects the handler to end the stream; one left open is ended for it.
      if (!stream.writableEnded) stream.end();
      await returned;
    }
    await finished;
  } finally {
    onUncaughtException(previous);
  }
}

export async function handle(eventBytes, ctx) {
  setRequestId(ctx.requestId);
  try {
    refreshAfterRestore();
    if (ctx.traceId) process.env._X_AMZN_TRACE_ID = ctx.traceId;
    else delete process.env._X_AMZN_TRACE_ID;
    if (!handler) throw new RuntimeError('Runtime.Unknown', 'the handler was not loaded (Init did not run)');
    const text = decoder.decode(eventBytes);
    let event;
    try {
      event = JSON.parse(text);
    } catch (e) {
      throw new RuntimeError('Runtime.UnmarshalError', `Unable to parse the event as JSON: ${e.message}`);
    }
    const context = makeContext(ctx);
    if (isStreaming(handler)) {
      await runStreaming(handler, event, context);
      return new Uint8Array(0);
    }
    const result = await runHandler(handler, event, context);
    let json;
    try {
      json = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      throw new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`);
    }
    return encoder.encode(json ?? 'null');
  } catch (e) {
    throw fail('Invoke Error', e);
  }
}

/** Logs a failure as Lambda does and turns it into the WIT function-error; process.exit and
 * running out of memory end the environment (the host sees the guest exit). */
function fail(label, e) {
  // SpiderMonkey reports a refused allocation as the exception "out of memory": the heap is in
  // no state to go on, so the guest exits and the host, which saw the memory limit refuse the
  // growth, answers Runtime.OutOfMemory and drops the environment, as Lambda does.
  if (e === 'out of memory' || (e instanceof Error && e.name === 'InternalError' && /out of memory/.test(e.message))) {
    exit({ tag: 'err', val: undefined });
  }
  if (e instanceof ExitError) {
    reportPanic(`exit status ${e.exitCode}`);
    exit({ tag: 'err', val: undefined });
  }
  const error = toFunctionError(e);
  emit('ERROR', errorLogLine(label, error), 2);
  return error;
}

