// Stack traces in Node's shape. SpiderMonkey writes `fn@file:line:col` frames without a header;
// Node writes `Name: message` then `    at fn (file:line:col)`.

/** The frames of `err.stack` as Node writes them (`    at fn (file:line:col)`), runtime frames left out. */
export function frames(stack) {
  if (typeof stack !== 'string') return [];
  const out = [];
  for (const raw of stack.split('\n')) {
    const text = raw.trim();
    if (!text) continue;
    if (text.startsWith('at ')) {
      out.push(`    ${text}`);
      continue;
    }
    const at = text.lastIndexOf('@');
    if (at < 0) {
      out.push(`    at ${text}`);
      continue;
    }
    let fn = text.slice(0, at).replace(/^async\*/, 'async ');
    const where = text.slice(at + 1);
    if (isRuntimeFrame(where)) continue;
    fn = fn.replace(/\/<$/, '').replace(/</g, '');
    out.push(fn ? `    at ${fn} (${where})` : `    at ${where}`);
  }
  return out;
}

function isRuntimeFrame(where) {
  // The runtime's own bundle: componentize-js names it `runtime.js`, and its generated bindings
  // `<build dir>/sources/initializer.js`; the engine's frames have no path.
  if (/\/sources\/initializer\.js:\d/.test(where)) return true;
  return !where.startsWith('/') && !where.startsWith('file:');
}

/** `Name: message` followed by the frames: Node's `err.stack`. */
export function nodeStack(err) {
  let head;
  try {
    head = `${err.name ?? 'Error'}: ${err.message ?? ''}`;
  } catch {
    head = 'Error';
  }
  if (head.endsWith(': ')) head = head.slice(0, -2);
  return [head, ...frames(err?.stack)];
}
