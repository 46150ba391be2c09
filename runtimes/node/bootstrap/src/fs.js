// `fs` (and `fs/promises`) over wasi:filesystem: the calls handlers commonly make on /tmp,
// /opt and /var/task. Synchronous calls are the WASI calls; callback and promise forms wrap them.
// File descriptors are small integers mapped to WASI descriptors.

import { Buffer } from 'buffer';
import { Readable, Writable } from 'readable-stream';
import * as wasi from './wasi.js';
import { resolve as resolvePath } from './path.js';

const abs = (p) => resolvePath(pathString(p));

function pathString(p) {
  if (p instanceof URL) return decodeURIComponent(p.pathname);
  if (typeof p === 'string' && p.startsWith('file://')) return decodeURIComponent(new URL(p).pathname);
  if (p instanceof Uint8Array) return Buffer.from(p).toString();
  if (typeof p !== 'string') throw new TypeError(`The "path" argument must be of type string. Received ${typeof p}`);
  return p;
}

function encodingOf(options) {
  if (typeof options === 'string') return options;
  return options?.encoding ?? null;
}

function toBytes(data, options) {
  if (typeof data === 'string') return Buffer.from(data, encodingOf(options) || 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return Buffer.from(String(data));
}

const TYPES = {
  directory: 'dir',
  'regular-file': 'file',
  'symbolic-link': 'link',
  fifo: 'fifo',
  socket: 'socket',
  'block-device': 'block',
  'character-device': 'char',
};

export class Stats {
  constructor(s) {
    this._type = TYPES[s.type] ?? 'unknown';
    this.dev = 0;
    this.ino = 0;
    this.mode = this._type === 'dir' ? 0o40755 : this._type === 'link' ? 0o120777 : 0o100644;
    this.nlink = s.nlink;
    this.uid = 993;
    this.gid = 990;
    this.rdev = 0;
    this.size = s.size;
    this.blksize = 4096;
    this.blocks = Math.ceil(s.size / 512);
    this.atimeMs = s.atimeMs;
    this.mtimeMs = s.mtimeMs;
    this.ctimeMs = s.ctimeMs;
    this.birthtimeMs = s.ctimeMs;
    this.atime = new Date(s.atimeMs);
    this.mtime = new Date(s.mtimeMs);
    this.ctime = new Date(s.ctimeMs);
    this.birthtime = new Date(s.ctimeMs);
  }
  isFile() {
    return this._type === 'file';
  }
  isDirectory() {
    return this._type === 'dir';
  }
  isSymbolicLink() {
    return this._type === 'link';
  }
  isFIFO() {
    return this._type === 'fifo';
  }
  isSocket() {
    return this._type === 'socket';
  }
  isBlockDevice() {
    return this._type === 'block';
  }
  isCharacterDevice() {
    return this._type === 'char';
  }
}

export class Dirent {
  constructor(name, type, parentPath) {
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this._type = TYPES[type] ?? 'unknown';
  }
}
for (const m of ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isSocket', 'isBlockDevice', 'isCharacterDevice']) {
  Dirent.prototype[m] = Stats.prototype[m];
}

export function statSync(p, options) {
  try {
    return new Stats(wasi.stat(abs(p), true));
  } catch (e) {
    if (options?.throwIfNoEntry === false && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

export function lstatSync(p, options) {
  try {
    return new Stats(wasi.stat(abs(p), false));
  } catch (e) {
    if (options?.throwIfNoEntry === false && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

export function existsSync(p) {
  try {
    return wasi.kind(abs(p)) !== null;
  } catch {
    return false;
  }
}

export function accessSync(p, mode = 0) {
  const path = abs(p);
  wasi.stat(path, true);
  if (mode & 2 && !path.startsWith('/tmp')) throw wasi.fsError('read-only', 'access', p);
}

export function readFileSync(p, options) {
  const bytes = typeof p === 'number' ? readAllFd(p) : wasi.readFile(abs(p));
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const enc = encodingOf(options);
  return enc ? buf.toString(enc) : buf;
}

export function writeFileSync(p, data, options) {
  const flag = typeof options === 'object' ? options?.flag : undefined;
  if (typeof p === 'number') return writeSync(p, toBytes(data, options));
  wasi.writeFile(abs(p), toBytes(data, options), flag?.startsWith('a'));
}

export function appendFileSync(p, data, options) {
  if (typeof p === 'number') return writeSync(p, toBytes(data, options));
  wasi.writeFile(abs(p), toBytes(data, options), true);
}

export function readdirSync(p, options) {
  const dir = abs(p);
  const entries = wasi.readDir(dir).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (options?.withFileTypes) return entries.map((e) => new Dirent(e.name, e.type, dir));
  const enc = encodingOf(options);
  return entries.map((e) => (enc === 'buffer' ? Buffer.from(e.name) : e.name));
}

export function mkdirSync(p, options) {
  const path = abs(p);
  const recursive = typeof options === 'object' && options?.recursive;
  if (!recursive) return void wasi.mkdir(path);
  const parts = path.split('/').filter(Boolean);
  let at = '';
  let first;
  for (const part of parts) {
    at += '/' + part;
    const k = wasi.kind(at);
    if (k === 'directory') continue;
    if (k !== null) throw wasi.fsError('exist', 'mkdir', p);
    wasi.mkdir(at);
    first ??= at;
  }
  return first;
}

export function mkdtempSync(prefix) {
  const suffix = Math.random().toString(36).slice(2, 8);
  const path = `${prefix}${suffix}`;
  mkdirSync(path);
  return path;
}

export function unlinkSync(p) {
  wasi.unlink(abs(p));
}

export function rmdirSync(p, options) {
  if (options?.recursive) return rmSync(p, { recursive: true, force: true });
  wasi.rmdir(abs(p));
}

export function rmSync(p, options) {
  const path = abs(p);
  const k = wasi.kind(path);
  if (k === null) {
    if (options?.force) return;
    throw wasi.fsError('no-entry', 'rm', p);
  }
  if (k !== 'directory') return wasi.unlink(path);
  if (!options?.recursive) throw wasi.fsError('is-directory', 'rm', p);
  for (const e of wasi.readDir(path)) rmSync(`${path}/${e.name}`, options);
  wasi.rmdir(path);
}

export function renameSync(from, to) {
  wasi.rename(abs(from), abs(to));
}

export function copyFileSync(from, to) {
  wasi.writeFile(abs(to), wasi.readFile(abs(from)));
}

export function readlinkSync(p) {
  return wasi.readlink(abs(p));
}

export function realpathSync(p) {
  const path = abs(p);
  wasi.stat(path, true);
  return path;
}
realpathSync.native = realpathSync;

export function chmodSync() {}
export function chownSync() {}
export function utimesSync() {}
export function fsyncSync() {}

// File descriptors.
const fds = new Map();
let nextFd = 3;

export function openSync(p, flags = 'r') {
  const path = abs(p);
  const f = String(flags);
  const write = /[wa+]/.test(f);
  const descriptor = wasi.open(
    path,
    { create: /[wa]/.test(f), truncate: f.startsWith('w'), exclusive: f.includes('x') },
    { read: f.startsWith('r') || f.includes('+'), write },
  );
  const fd = nextFd++;
  fds.set(fd, { descriptor, path, position: f.startsWith('a') ? wasi.size(descriptor) : 0, append: f.startsWith('a') });
  return fd;
}

function entry(fd) {
  const e = fds.get(fd);
  if (!e) throw wasi.fsError('bad-descriptor', 'read');
  return e;
}

export function closeSync(fd) {
  const e = fds.get(fd);
  if (!e) throw wasi.fsError('bad-descriptor', 'close');
  wasi.close(e.descriptor);
  fds.delete(fd);
}

export function readSync(fd, buffer, offset = 0, length, position) {
  if (typeof offset === 'object' && offset !== null) ({ offset = 0, length, position } = offset);
  const e = entry(fd);
  length ??= buffer.byteLength - offset;
  const at = position ?? e.position;
  const [bytes] = wasi.readAt(e.descriptor, length, at);
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).set(bytes, offset);
  if (position == null) e.position += bytes.length;
  return bytes.length;
}

export function writeSync(fd, data, offsetOrPosition, lengthOrEncoding, maybePosition) {
  if (fd === 1 || fd === 2) {
    wasi.writeStdio(fd, typeof data === 'string' ? data : toBytes(data));
    return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  }
  const e = entry(fd);
  let bytes;
  let position;
  if (typeof data === 'string') {
    bytes = Buffer.from(data, typeof lengthOrEncoding === 'string' ? lengthOrEncoding : 'utf8');
    position = offsetOrPosition;
  } else {
    const offset = offsetOrPosition ?? 0;
    const length = lengthOrEncoding ?? data.byteLength - offset;
    bytes = toBytes(data).subarray(offset, offset + length);
    position = maybePosition;
  }
  const at = e.append ? wasi.size(e.descriptor) : (position ?? e.position);
  const n = wasi.writeAt(e.descriptor, bytes, at, e.path);
  if (position == null) e.position = at + n;
  return n;
}

export function fstatSync(fd) {
  return statSync(entry(fd).path);
}

function readAllFd(fd) {
  const e = entry(fd);
  const size = wasi.size(e.descriptor);
  const [bytes] = wasi.readAt(e.descriptor, size, 0);
  return bytes;
}

// Streams.
export function createReadStream(p, options) {
  const opts = typeof options === 'string' ? { encoding: options } : (options ?? {});
  let data = null;
  let at = opts.start ?? 0;
  const end = opts.end ?? Infinity;
  const chunk = opts.highWaterMark ?? 65536;
  const stream = new Readable({
    encoding: opts.encoding,
    read() {
      try {
        data ??= readFileSync(p);
        const stop = Math.min(data.length, end + 1);
        if (at >= stop) return this.push(null);
        const next = Math.min(at + chunk, stop);
        this.push(data.subarray(at, next));
        at = next;
      } catch (e) {
        this.destroy(e);
      }
    },
  });
  stream.path = pathString(p);
  return stream;
}

export function createWriteStream(p, options) {
  const opts = typeof options === 'string' ? { encoding: options } : (options ?? {});
  let fd = null;
  const stream = new Writable({
    write(chunk, encoding, callback) {
      try {
        fd ??= openSync(p, opts.flags ?? 'w');
        writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
        callback();
      } catch (e) {
        callback(e);
      }
    },
    final(callback) {
      try {
        if (fd === null) fd = openSync(p, opts.flags ?? 'w');
        closeSync(fd);
        callback();
      } catch (e) {
        callback(e);
      }
    },
  });
  stream.path = pathString(p);
  return stream;
}

export const constants = {
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 64,
  O_EXCL: 128,
  O_TRUNC: 512,
  O_APPEND: 1024,
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o40000,
  S_IFLNK: 0o120000,
  COPYFILE_EXCL: 1,
};

const sync = {
  statSync,
  lstatSync,
  existsSync,
  accessSync,
  readFileSync,
  writeFileSync,
  appendFileSync,
  readdirSync,
  mkdirSync,
  mkdtempSync,
  unlinkSync,
  rmdirSync,
  rmSync,
  renameSync,
  copyFileSync,
  readlinkSync,
  realpathSync,
  chmodSync,
  chownSync,
  utimesSync,
  fsyncSync,
  openSync,
  closeSync,
  readSync,
  writeSync,
  fstatSync,
};

// Callback forms: `fs.readFile(path, [options], callback)`, answered on the next tick.
const callbacks = {};
for (const [name, f] of Object.entries(sync)) {
  if (name === 'existsSync') continue;
  const base = name.slice(0, -4);
  callbacks[base] = (...args) => {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    let result;
    let error = null;
    try {
      result = f(...args);
    } catch (e) {
      error = e;
    }
    if (callback) queueMicrotask(() => (error ? callback(error) : callback(null, result)));
  };
}
callbacks.exists = (p, callback) => queueMicrotask(() => callback(existsSync(p)));

// Promise forms.
export const promises = {};
for (const [name, f] of Object.entries(sync)) {
  if (['existsSync', 'openSync', 'closeSync', 'readSync', 'writeSync', 'fstatSync'].includes(name)) continue;
  promises[name.slice(0, -4)] = async (...args) => f(...args);
}
promises.rm = async (p, options) => rmSync(p, options);
promises.constants = constants;
promises.open = async (p, flags) => {
  const fd = openSync(p, flags);
  return {
    fd,
    readFile: async (options) => readFileSync(fd, options),
    writeFile: async (data, options) => void writeSync(fd, toBytes(data, options)),
    write: async (data, ...rest) => ({ bytesWritten: writeSync(fd, data, ...rest) }),
    read: async (buffer, offset, length, position) => ({ bytesRead: readSync(fd, buffer, offset, length, position), buffer }),
    stat: async () => fstatSync(fd),
    close: async () => closeSync(fd),
    [Symbol.asyncDispose]: async () => closeSync(fd),
  };
};

const fs = {
  ...sync,
  ...callbacks,
  Stats,
  Dirent,
  constants,
  promises,
  createReadStream,
  createWriteStream,
  ...constants,
};

export default fs;
