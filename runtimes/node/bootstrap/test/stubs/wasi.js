// Node-backed stand-in for src/wasi.js in the tests: `/` is globalThis.__lambkinTestRoot.
import fs from 'node:fs';
import path from 'node:path';

const host = (p) => path.join(globalThis.__lambkinTestRoot, p);

export function kind(p) {
  try {
    const s = fs.statSync(host(p));
    return s.isDirectory() ? 'directory' : s.isFile() ? 'regular-file' : 'unknown';
  } catch {
    return null;
  }
}

export function readFile(p) {
  try {
    return new Uint8Array(fs.readFileSync(host(p)));
  } catch (e) {
    const err = new Error(`ENOENT: no such file or directory, open '${p}'`);
    err.code = 'ENOENT';
    throw err;
  }
}
