// The WASI calls the runtime makes itself: preopened directories, files, environment, stdio.
//
// Handles (descriptors, streams) are resources owned by the component instance. Everything the
// runtime opens is closed again before `init` returns, so a snapshot taken after Init (SnapStart,
// wasmtime-wizer) holds no handle that would not exist in the restored instance; the preopened
// directories are fetched again on first use in each phase.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.10';
import { getEnvironment } from 'wasi:cli/environment@0.2.10';
import { getStdout } from 'wasi:cli/stdout@0.2.10';
import { getStderr } from 'wasi:cli/stderr@0.2.10';

export { streamWrite, streamContentType } from 'lambkin:function/runtime@0.1.0';

let preopens = null; // [[descriptor, '/tmp'], ...], longest path first

/** Drops a WASI resource now (an already dropped one is fine). */
export function dispose(handle) {
  try {
    handle?.[Symbol.dispose]?.();
  } catch {
    // Already gone.
  }
}

/** Forgets (and closes) the preopened directories: called when Init ends. */
export function releaseHandles() {
  if (preopens) for (const [d] of preopens) dispose(d);
  preopens = null;
}

function mounts() {
  if (!preopens) {
    preopens = getDirectories().map(([d, p]) => [d, normalize(p)]);
    preopens.sort((a, b) => b[1].length - a[1].length);
  }
  return preopens;
}

/** The preopened directories' paths ('/tmp', '/opt', ...). */
export function mountPoints() {
  return mounts().map(([, p]) => p);
}

/** An absolute POSIX path without `.`, `..` or repeated slashes (`..` never climbs above `/`). */
export function normalize(path) {
  const out = [];
  for (const part of String(path).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/** Node-style error for a WASI error code. */
const CODES = {
  access: ['EACCES', 'permission denied'],
  'would-block': ['EAGAIN', 'resource temporarily unavailable'],
  busy: ['EBUSY', 'resource busy or locked'],
  exist: ['EEXIST', 'file already exists'],
  'file-too-large': ['EFBIG', 'file too large'],
  interrupted: ['EINTR', 'interrupted system call'],
  invalid: ['EINVAL', 'invalid argument'],
  io: ['EIO', 'i/o error'],
  'is-directory': ['EISDIR', 'illegal operation on a directory'],
  loop: ['ELOOP', 'too many symbolic links encountered'],
  'name-too-long': ['ENAMETOOLONG', 'name too long'],
  'no-entry': ['ENOENT', 'no such file or directory'],
  'insufficient-space': ['ENOSPC', 'no space left on device'],
  'not-directory': ['ENOTDIR', 'not a directory'],
  'not-empty': ['ENOTEMPTY', 'directory not empty'],
  unsupported: ['ENOTSUP', 'operation not supported on socket'],
  'not-permitted': ['EPERM', 'operation not permitted'],
  'read-only': ['EROFS', 'read-only file system'],
  quota: ['EDQUOT', 'disk quota exceeded'],
  'cross-device': ['EXDEV', 'cross-device link not permitted'],
  'bad-descriptor': ['EBADF', 'bad file descriptor'],
};

const WRITES = new Set(['open', 'write', 'mkdir', 'unlink', 'rmdir', 'rename', 'symlink', 'link', 'utime']);

export function fsError(cause, syscall, path) {
  let wasi = typeof cause === 'string' ? cause : (cause?.payload ?? cause?.message ?? String(cause));
  // A change under a read-only mount (/opt, /var/task): Lambda's EROFS rather than WASI's EPERM.
  const abs = path === undefined ? '' : normalize(path);
  if ((wasi === 'not-permitted' || wasi === 'access') && WRITES.has(syscall) && abs !== '/tmp' && !abs.startsWith('/tmp/')) {
    wasi = 'read-only';
  }
  const [code, text] = CODES[wasi] ?? ['EIO', `i/o error (${wasi})`];
  const err = new Error(`${code}: ${text}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
  err.errno = -1;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

/** The preopened directory holding `path` and the path relative to it, or throws ENOENT. */
function locate(path, syscall) {
  const abs = normalize(path);
  for (const [d, mount] of mounts()) {
    if (abs === mount) return [d, '.'];
    if (mount === '/' || abs.startsWith(mount + '/')) {
      return [d, abs.slice(mount === '/' ? 1 : mount.length + 1)];
    }
  }
  throw fsError('no-entry', syscall, path);
}

function call(syscall, path, f) {
  try {
    return f();
  } catch (e) {
    if (e?.code && e?.syscall) throw e;
    throw fsError(e, syscall, path);
  }
}

const FOLLOW = { symlinkFollow: true };

/** stat(2): {type, size, mtimeMs, atimeMs, ctimeMs, nlink}, or throws (ENOENT...). */
export function stat(path, follow = true) {
  return call(follow ? 'stat' : 'lstat', path, () => {
    const [d, rel] = locate(path, 'stat');
    const s = rel === '.' ? d.stat() : d.statAt({ symlinkFollow: follow }, rel);
    return {
      type: s.type,
      size: Number(s.size),
      nlink: Number(s.linkCount),
      mtimeMs: ms(s.dataModificationTimestamp),
      atimeMs: ms(s.dataAccessTimestamp),
      ctimeMs: ms(s.statusChangeTimestamp),
    };
  });
}

function ms(t) {
  return t ? Number(t.seconds) * 1000 + Math.floor(t.nanoseconds / 1e6) : 0;
}

/** The file's type ('regular-file', 'directory', ...) or null when it does not exist. */
export function kind(path) {
  try {
    return stat(path).type;
  } catch {
    return null;
  }
}

/** Opens a file: flags {create, truncate, exclusive, directory}, access {read, write}. */
export function open(path, openFlags, access, syscall = 'open') {
  return call(syscall, path, () => {
    const [d, rel] = locate(path, syscall);
    return d.openAt(FOLLOW, rel, openFlags, access);
  });
}

/** The whole file as bytes. */
export function readFile(path) {
  const f = open(path, {}, { read: true });
  try {
    return call('read', path, () => readAll(f));
  } finally {
    dispose(f);
  }
}

function readAll(f) {
  const size = Number(f.stat().size);
  const parts = [];
  let total = 0;
  for (;;) {
    const want = Math.max(size - total, 65536);
    const [bytes, eof] = f.read(BigInt(want), BigInt(total));
    if (bytes.length) {
      parts.push(bytes);
      total += bytes.length;
    }
    if (eof || bytes.length === 0) break;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads `length` bytes at `position` of an open descriptor: [bytes, eof]. */
export function readAt(f, length, position) {
  const [bytes, eof] = f.read(BigInt(length), BigInt(position));
  return [bytes, eof];
}

/** Writes all of `bytes` at `position` of an open descriptor. */
export function writeAt(f, bytes, position, path) {
  return call('write', path, () => {
    let done = 0;
    while (done < bytes.length) {
      const n = Number(f.write(bytes.subarray(done), BigInt(position + done)));
      if (n <= 0) throw 'io';
      done += n;
    }
    return done;
  });
}

export function size(f) {
  return Number(f.stat().size);
}

export function close(f) {
  dispose(f);
}

/** Writes (or with `append`, appends to) a whole file. */
export function writeFile(path, bytes, append = false) {
  const f = open(path, { create: true, truncate: !append }, { write: true }, 'open');
  try {
    writeAt(f, bytes, append ? size(f) : 0, path);
  } finally {
    dispose(f);
  }
}

/** Directory entries: [{name, type}]. */
export function readDir(path) {
  const f = open(path, { directory: true }, { read: true }, 'scandir');
  try {
    return call('scandir', path, () => {
      const stream = f.readDirectory();
      const out = [];
      try {
        for (let e = stream.readDirectoryEntry(); e; e = stream.readDirectoryEntry()) out.push(e);
      } finally {
        dispose(stream);
      }
      return out;
    });
  } finally {
    dispose(f);
  }
}

export function mkdir(path) {
  call('mkdir', path, () => {
    const [d, rel] = locate(path, 'mkdir');
    d.createDirectoryAt(rel);
  });
}

export function unlink(path) {
  call('unlink', path, () => {
    const [d, rel] = locate(path, 'unlink');
    d.unlinkFileAt(rel);
  });
}

export function rmdir(path) {
  call('rmdir', path, () => {
    const [d, rel] = locate(path, 'rmdir');
    d.removeDirectoryAt(rel);
  });
}

export function rename(from, to) {
  call('rename', from, () => {
    const [d1, r1] = locate(from, 'rename');
    const [d2, r2] = locate(to, 'rename');
    d1.renameAt(r1, d2, r2);
  });
}

export function readlink(path) {
  return call('readlink', path, () => {
    const [d, rel] = locate(path, 'readlink');
    return d.readlinkAt(rel);
  });
}

/** The environment as [[name, value], ...]. */
export function environment() {
  return getEnvironment();
}

const encoder = new TextEncoder();

/** Writes text or bytes to stdout (fd 1) or stderr (fd 2), in pieces WASI accepts (4096 bytes). */
export function writeStdio(fd, data) {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const stream = fd === 2 ? getStderr() : getStdout();
  try {
    for (let at = 0; at < bytes.length; at += 4096) {
      stream.blockingWriteAndFlush(bytes.subarray(at, Math.min(at + 4096, bytes.length)));
    }
  } catch {
    // The log is gone (the host closed it); nothing sensible to do.
  } finally {
    dispose(stream);
  }
}
