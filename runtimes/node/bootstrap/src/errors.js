// Function errors in the shape of Lambda's Node runtime: {errorType, errorMessage, stackTrace}.

import { nodeStack } from './stack.js';

/** An error the runtime raises itself (Runtime.ImportModuleError, Runtime.HandlerNotFound...). */
export class RuntimeError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause !== undefined) this.cause = cause;
  }
}

/** Lambda's answer when the event loop empties before an async handler's promise settles. */
export class NodeJsExit extends RuntimeError {
  constructor() {
    super(
      'Runtime.NodeJsExit',
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}

function isError(e) {
  return e instanceof Error || (e !== null && typeof e === 'object' && typeof e.name === 'string' && typeof e.message === 'string' && 'stack' in e);
}

/** Lambda's toRapidResponse: what the caller sees for a thrown or rejected value. */
export function toFunctionError(e) {
  try {
    if (isError(e)) {
      const stackTrace = e instanceof RuntimeError ? runtimeTrace(e) : nodeStack(e);
      return {
        errorType: String(e.name ?? 'Error'),
        errorMessage: String(e.message ?? ''),
        stackTrace,
      };
    }
    return { errorType: typeof e, errorMessage: String(e), stackTrace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      stackTrace: [],
    };
  }
}

function runtimeTrace(e) {
  const lines = `${e.name}: ${e.message}`.split('\n');
  if (e.location) lines.push(`    at ${e.location}`);
  const cause = e.cause;
  if (cause && typeof cause === 'object' && cause.stack) {
    const causeLines = nodeStack(cause).slice(1);
    return [...lines, ...causeLines];
  }
  return lines;
}

/** Lambda's log line for a failed invocation or Init: `<label> \t{"errorType",...,"stack":[...]}`. */
export function errorLogLine(label, error) {
  return `${label} \t${JSON.stringify({ errorType: error.errorType, errorMessage: error.errorMessage, stack: error.stackTrace })}`;
}

/** The Init error for a user module that failed to load, as Lambda classifies it. */
export function classifyLoadError(e) {
  if (e instanceof SyntaxError) {
    const err = new RuntimeError('Runtime.UserCodeSyntaxError', `SyntaxError: ${e.message}`, e);
    const where = e.fileName ? `${e.fileName}${e.lineNumber ? `:${e.lineNumber}${e.columnNumber !== undefined ? `:${e.columnNumber}` : ''}` : ''}` : null;
    if (where) err.location = where;
    return err;
  }
  if (e && typeof e === 'object' && e.code === 'MODULE_NOT_FOUND') {
    return new RuntimeError('Runtime.ImportModuleError', `Error: ${e.message}`, e);
  }
  return e;
}
