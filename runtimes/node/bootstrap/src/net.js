// Node's `net` (TCP clients) and `dns.lookup` over wasi:sockets. The host's egress policy decides
// where a function may connect: a refused connection fails with EACCES, and the function's log
// names the rule that refused it.
//
// StarlingMonkey's event loop cannot wait on a pollable that JavaScript holds, so a socket polls
// its streams with short timers (0 ms at first, backing off to 2 ms while nothing happens). An
// open, referenced socket holds the event loop open, as in Node.

import stream from 'readable-stream';
import { Buffer } from 'buffer';
import { instanceNetwork } from 'wasi:sockets/instance-network@0.2.11';
import { createTcpSocket } from 'wasi:sockets/tcp-create-socket@0.2.11';
import { resolveAddresses } from 'wasi:sockets/ip-name-lookup@0.2.11';
import { isIP, isIPv4, isIPv6, toWasiAddress, fromWasiAddress, socketAddress } from './ip.js';
import { dispose } from './wasi.js';
import { holdLoop, nativeSetTimeout, nativeClearTimeout, setTimeout, clearTimeout } from './timers.js';

const BACKOFF_MS = [0, 0, 0, 1, 1, 1, 2];
const READ_CHUNK = 65536n;

/** WASI's error code (or stream error) as a string: 'connection-refused', 'closed', ... */
function wasiCode(e) {
  const payload = typeof e === 'string' ? e : e?.payload;
  if (typeof payload === 'string') return payload;
  if (payload?.tag === 'closed') return 'closed';
  if (payload?.tag === 'last-operation-failed') return 'connection-reset';
  return null;
}

const CODES = {
  'access-denied': 'EACCES',
  'connection-refused': 'ECONNREFUSED',
  'connection-reset': 'ECONNRESET',
  'connection-aborted': 'ECONNABORTED',
  'remote-unreachable': 'EHOSTUNREACH',
  timeout: 'ETIMEDOUT',
  'invalid-argument': 'EINVAL',
  'not-supported': 'ENOTSUP',
  'address-in-use': 'EADDRINUSE',
  'address-not-bindable': 'EADDRNOTAVAIL',
  'new-socket-limit': 'EMFILE',
  'out-of-memory': 'ENOMEM',
  'name-unresolvable': 'ENOTFOUND',
  'permanent-resolver-failure': 'ENOTFOUND',
  'temporary-resolver-failure': 'EAI_AGAIN',
};

/** Node's error for a failed socket call: `connect ECONNREFUSED 10.0.0.1:5432`. */
function netError(e, syscall, address, port) {
  const wasi = wasiCode(e);
  const code = CODES[wasi] ?? 'EIO';
  const where = port === undefined ? (address ?? '') : `${address}:${port}`;
  let message = `${syscall} ${code}${where ? ' ' + where : ''}`;
  if (wasi === 'access-denied') message += " (refused by lambkin's egress policy; the function's log names the rule)";
  else if (!CODES[wasi]) message += ` (${wasi ?? e?.message ?? e})`;
  const err = new Error(message);
  err.errno = -1;
  err.code = code;
  err.syscall = syscall;
  if (syscall === 'getaddrinfo') err.hostname = address;
  else if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

/** A wait on a pollable that can be cut short (the socket was destroyed meanwhile). */
class Wait {
  constructor(pollable) {
    this.pollable = pollable;
    this.timer = null;
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
      let tries = 0;
      const check = () => {
        this.timer = null;
        if (!this.pollable) return;
        if (this.pollable.ready()) return this.finish(true);
        this.timer = nativeSetTimeout(check, BACKOFF_MS[Math.min(tries++, BACKOFF_MS.length - 1)]);
      };
      check();
    });
  }

  /** Ends the wait: `ready` says whether the pollable became ready. */
  finish(ready) {
    if (this.timer !== null) nativeClearTimeout(this.timer);
    this.timer = null;
    dispose(this.pollable);
    this.pollable = null;
    this.resolve(ready);
  }
}

/** Waits for `owner`'s pollable to be ready; false when the wait was cancelled. */
function ready(waits, pollable) {
  const wait = new Wait(pollable);
  waits.add(wait);
  return wait.promise.finally(() => waits.delete(wait));
}

// ---- name lookup ----

/** The addresses `host` stands for: itself when it is an address, else a wasi:sockets lookup. */
async function lookupAll(host, waits = new Set()) {
  const bare = String(host).replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return [toWasiAddress(bare)];
  const network = instanceNetwork();
  let found;
  try {
    found = resolveAddresses(network, bare);
  } catch (e) {
    dispose(network);
    throw netError(e, 'getaddrinfo', bare);
  }
  const out = [];
  try {
    for (;;) {
      let next;
      try {
        next = found.resolveNextAddress();
      } catch (e) {
        if (wasiCode(e) !== 'would-block') throw netError(e, 'getaddrinfo', bare);
        if (!(await ready(waits, found.subscribe()))) throw netError('connection-aborted', 'getaddrinfo', bare);
        continue;
      }
      if (next === undefined || next === null) break;
      out.push(next);
    }
  } finally {
    dispose(found);
    dispose(network);
  }
  if (!out.length) throw netError('name-unresolvable', 'getaddrinfo', bare);
  return out;
}

// ---- the socket ----

/** Node's net.Socket for an outgoing TCP connection. */
export class Socket extends stream.Duplex {
  constructor(options = {}) {
    super({ allowHalfOpen: Boolean(options.allowHalfOpen), emitClose: true, autoDestroy: true });
    this.connecting = false;
    this.bytesRead = 0;
    this._bytesWritten = 0;
    this._tcp = null;
    this._input = null;
    this._output = null;
    this._waits = new Set();
    this._reading = false;
    this._release = null;
    this._ref = true;
    this._idle = null;
    this._idleMs = 0;
    this._connected = null; // a promise while connecting, settled when the streams exist
    this.remoteAddress = undefined;
    this.remotePort = undefined;
    this.remoteFamily = undefined;
  }

  get pending() {
    return !this._output;
  }

  get readyState() {
    if (this.connecting) return 'opening';
    if (!this._output) return 'closed';
    if (this.readable && this.writable) return 'open';
    return this.readable ? 'readOnly' : this.writable ? 'writeOnly' : 'closed';
  }

  get bytesWritten() {
    return this._bytesWritten;
  }

  get localAddress() {
    return this.address().address;
  }

  get localPort() {
    return this.address().port;
  }

  address() {
    try {
      const local = this._tcp?.localAddress();
      if (!local) return {};
      return { ...fromWasiAddress({ tag: local.tag, val: local.val.address }), port: local.val.port };
    } catch {
      return {};
    }
  }

  /** connect(port[, host][, listener]) or connect({port, host, family}[, listener]). */
  connect(...args) {
    let options = args[0];
    let listener = args.find((a) => typeof a === 'function');
    if (typeof options !== 'object' || options === null) {
      options = { port: args[0], host: typeof args[1] === 'string' ? args[1] : undefined };
    }
    if (options.path !== undefined) {
      const err = new Error('net: Unix domain sockets are not available in lambkin (TCP only)');
      err.code = 'ERR_NOT_SUPPORTED';
      throw err;
    }
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      const err = new RangeError(`Port should be >= 0 and < 65536. Received ${options.port}.`);
      err.code = 'ERR_SOCKET_BAD_PORT';
      throw err;
    }
    const host = options.host || 'localhost';
    if (listener) this.once('connect', listener);
    if (options.timeout) this.setTimeout(options.timeout);
    this.connecting = true;
    this._hold();
    this._connected = this._open(host, port, options.family).then(
      () => {
        this.connecting = false;
        this._touch();
        this.emit('connect');
        this.emit('ready');
        if (this._reading) this._pump();
      },
      (err) => {
        this.connecting = false;
        this.destroy(err);
        throw err;
      },
    );
    this._connected.catch(() => {});
    return this;
  }

  async _open(host, port, family) {
    let addresses = await lookupAll(host, this._waits);
    if (family === 4 || family === 6) addresses = addresses.filter((a) => a.tag === `ipv${family}`);
    let last = netError('name-unresolvable', 'getaddrinfo', host);
    for (const address of addresses) {
      if (this.destroyed) throw netError('connection-aborted', 'connect', fromWasiAddress(address).address, port);
      try {
        await this._try(address, port);
        const shown = fromWasiAddress(address);
        this.remoteAddress = shown.address;
        this.remoteFamily = `IPv${shown.family}`;
        this.remotePort = port;
        return;
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  async _try(address, port) {
    const shown = fromWasiAddress(address).address;
    const network = instanceNetwork();
    let tcp;
    try {
      tcp = createTcpSocket(address.tag);
      tcp.startConnect(network, socketAddress(address, port));
      for (;;) {
        try {
          [this._input, this._output] = tcp.finishConnect();
          break;
        } catch (e) {
          if (wasiCode(e) !== 'would-block') throw e;
          if (!(await ready(this._waits, tcp.subscribe()))) throw 'connection-aborted';
        }
      }
      this._tcp = tcp;
    } catch (e) {
      dispose(tcp);
      throw netError(e, 'connect', shown, port);
    } finally {
      dispose(network);
    }
  }

  _read() {
    this._reading = true;
    if (this._output) this._pump();
  }

  // Reads what the stream has, waits when it has nothing, until the reader is full or it ends.
  async _pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      while (this._reading && this._input && !this.destroyed) {
        let bytes;
        try {
          bytes = this._input.read(READ_CHUNK);
        } catch (e) {
          if (wasiCode(e) === 'closed') {
            this._reading = false;
            this.push(null);
            return;
          }
          this.destroy(netError(e, 'read'));
          return;
        }
        if (bytes.length === 0) {
          if (!(await ready(this._waits, this._input.subscribe()))) return;
          continue;
        }
        this.bytesRead += bytes.length;
        this._touch();
        this._reading = this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      }
    } finally {
      this._pumping = false;
    }
  }

  _write(chunk, encoding, callback) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    const start = this._output ? Promise.resolve() : this._connected;
    if (!start) return callback(new Error('This socket is not connected'));
    start.then(() => this._send(bytes)).then(() => callback(), (err) => callback(err));
  }

  async _send(bytes) {
    let at = 0;
    while (at < bytes.length) {
      if (this.destroyed || !this._output) throw netError('connection-aborted', 'write');
      let room;
      try {
        room = Number(this._output.checkWrite());
      } catch (e) {
        throw netError(e, 'write');
      }
      if (room === 0) {
        if (!(await ready(this._waits, this._output.subscribe()))) throw netError('connection-aborted', 'write');
        continue;
      }
      const n = Math.min(room, bytes.length - at);
      try {
        this._output.write(bytes.subarray(at, at + n));
      } catch (e) {
        throw netError(e, 'write');
      }
      at += n;
      this._bytesWritten += n;
    }
    try {
      this._output.flush();
    } catch (e) {
      throw netError(e, 'write');
    }
    this._touch();
  }

  _final(callback) {
    const start = this._output ? Promise.resolve() : this._connected;
    if (!start) return callback();
    start.then(
      () => {
        try {
          this._tcp?.shutdown('send');
        } catch {
          // The peer is gone already; nothing left to tell it.
        }
        callback();
      },
      (err) => callback(err),
    );
  }

  _destroy(err, callback) {
    for (const wait of [...this._waits]) wait.finish(false);
    // A socket's streams are its children: they go first.
    dispose(this._input);
    dispose(this._output);
    dispose(this._tcp);
    this._input = this._output = this._tcp = null;
    this._reading = false;
    this.connecting = false;
    if (this._idle) clearTimeout(this._idle);
    this._idle = null;
    this._release?.();
    this._release = null;
    callback(err);
  }

  _hold() {
    if (this._ref && !this._release && !this.destroyed) this._release = holdLoop();
  }

  ref() {
    this._ref = true;
    this._hold();
    return this;
  }

  unref() {
    this._ref = false;
    this._release?.();
    this._release = null;
    return this;
  }

  /** Emits 'timeout' after `ms` without reads or writes (0 turns it off), as Node does. */
  setTimeout(ms, callback) {
    this._idleMs = Number(ms) || 0;
    if (callback) this.once('timeout', callback);
    this._touch();
    return this;
  }

  _touch() {
    if (this._idle) clearTimeout(this._idle);
    this._idle = null;
    if (this._idleMs > 0 && !this.destroyed) {
      this._idle = setTimeout(() => this.emit('timeout'), this._idleMs);
      this._idle.unref();
    }
  }

  setNoDelay() {
    return this;
  }

  setKeepAlive(enable = false) {
    try {
      this._tcp?.setKeepAliveEnabled(Boolean(enable));
    } catch {
      // Best effort, as in Node.
    }
    return this;
  }
}

export function connect(...args) {
  const options = typeof args[0] === 'object' && args[0] !== null ? args[0] : {};
  return new Socket(options).connect(...args);
}

function noServers() {
  const err = new Error('net.createServer is not available in lambkin: a function does not listen');
  err.code = 'ERR_NOT_SUPPORTED';
  throw err;
}

export const net = {
  Socket,
  Stream: Socket,
  connect,
  createConnection: connect,
  createServer: noServers,
  Server: noServers,
  isIP,
  isIPv4,
  isIPv6,
};

// ---- dns.lookup ----

function lookupResult(addresses, options) {
  let found = addresses.map(fromWasiAddress);
  if (options.family === 4 || options.family === 6) found = found.filter((a) => a.family === options.family);
  if (!found.length) return null;
  return options.all ? found : found[0];
}

async function lookupPromise(hostname, options = {}) {
  const opts = typeof options === 'number' ? { family: options } : options;
  const found = lookupResult(await lookupAll(hostname), opts);
  if (!found) throw netError('name-unresolvable', 'getaddrinfo', hostname);
  return found;
}

/** dns.lookup(hostname[, options], callback): the addresses, from wasi:sockets' name lookup. */
function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'function' ? {} : options;
  const release = holdLoop();
  lookupPromise(hostname, opts).then(
    (found) => {
      release();
      if (Array.isArray(found)) cb(null, found);
      else cb(null, found.address, found.family);
    },
    (err) => {
      release();
      cb(err);
    },
  );
}

export const dnsPromises = { lookup: lookupPromise };
export const dns = { lookup, promises: dnsPromises };
