// Node's timers over StarlingMonkey's: Timeout objects with ref/unref/refresh, setImmediate, and
// a count of what still holds the event loop open — referenced timers and network work in
// flight (see `keepsLoopAlive`) — which is what "the event loop is empty" means here
// (context.callbackWaitsForEmptyEventLoop, Runtime.NodeJsExit).

const native = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
};

let referenced = 0;

// An exception thrown by a timer's callback: Node's 'uncaughtException'. The runtime fails the
// invocation in flight with it (see index.js); outside one it is logged.
let uncaught = (e) => globalThis.console?.error?.('Uncaught Exception', e);
export function onUncaughtException(handler) {
  const previous = uncaught;
  uncaught = handler;
  return previous;
}
function guarded(callback, args) {
  try {
    callback(...args);
  } catch (e) {
    uncaught(e);
  }
}
// Called once no referenced timer is left; a Set, so that a waiter given up on is dropped.
const idleWaiters = new Set();

function changed(delta) {
  referenced += delta;
  if (referenced === 0 && idleWaiters.size) {
    native.setTimeout(() => {
      if (referenced !== 0) return;
      const waiters = [...idleWaiters];
      idleWaiters.clear();
      for (const wake of waiters) wake();
    }, 0);
  }
}

export class Timeout {
  constructor(callback, delay, args, repeat) {
    this._callback = callback;
    this._delay = Math.max(1, Number(delay) || 0);
    this._args = args;
    this._repeat = repeat;
    this._ref = true;
    this._active = false;
    this._start();
  }

  _start() {
    const fire = () => {
      if (!this._repeat) this._stop();
      guarded(this._callback, this._args);
    };
    this._id = this._repeat ? native.setInterval(fire, this._delay) : native.setTimeout(fire, this._delay);
    if (!this._active && this._ref) changed(+1);
    this._active = true;
  }

  _stop() {
    if (!this._active) return;
    (this._repeat ? native.clearInterval : native.clearTimeout)(this._id);
    this._active = false;
    if (this._ref) changed(-1);
  }

  ref() {
    if (!this._ref && this._active) changed(+1);
    this._ref = true;
    return this;
  }

  unref() {
    if (this._ref && this._active) changed(-1);
    this._ref = false;
    return this;
  }

  hasRef() {
    return this._ref;
  }

  refresh() {
    if (this._active) {
      (this._repeat ? native.clearInterval : native.clearTimeout)(this._id);
      this._active = false;
      if (this._ref) changed(-1);
    }
    this._start();
    return this;
  }

  close() {
    this._stop();
    return this;
  }

  [Symbol.toPrimitive]() {
    return this._id;
  }
}

const byId = new Map();

export function setTimeout(callback, delay, ...args) {
  if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const t = new Timeout(
    (...a) => {
      byId.delete(t._id);
      callback(...a);
    },
    delay,
    args,
    false,
  );
  byId.set(t._id, t);
  return t;
}

export function setInterval(callback, delay, ...args) {
  if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const t = new Timeout(callback, delay, args, true);
  byId.set(t._id, t);
  return t;
}

export function clearTimeout(t) {
  if (t == null) return;
  const timer = t instanceof Timeout ? t : byId.get(Number(t));
  if (timer) {
    byId.delete(timer._id);
    timer._stop();
  }
}

export const clearInterval = clearTimeout;

export class Immediate {
  constructor(t) {
    this._timeout = t;
  }
  ref() {
    this._timeout.ref();
    return this;
  }
  unref() {
    this._timeout.unref();
    return this;
  }
  hasRef() {
    return this._timeout.hasRef();
  }
}

export function setImmediate(callback, ...args) {
  const t = new Timeout(callback, 0, args, false);
  return new Immediate(t);
}

export function clearImmediate(i) {
  if (i instanceof Immediate) i._timeout._stop();
}

/** Resolves once no referenced timer is left (at once if none is). */
export function whenIdle() {
  if (referenced === 0) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.add(resolve));
}

/** Node's 'beforeExit': calls `onEmpty` once the event loop is empty, that is when the microtask
 * queue has drained (a macrotask runs) and no referenced timer is left, unless the returned
 * function is called first to stop watching. */
export function onLoopEmpty(onEmpty) {
  let timer = null;
  let stopped = false;
  const check = () => {
    timer = native.setTimeout(() => {
      timer = null;
      if (stopped) return;
      if (referenced === 0) onEmpty();
      else idleWaiters.add(check);
    }, 0);
  };
  check();
  return () => {
    stopped = true;
    idleWaiters.delete(check);
    if (timer !== null) native.clearTimeout(timer);
  };
}

/** Counts `promise` as pending work until it settles, as Node counts an open socket: fetch and
 * its body reads hold the event loop open. Returns `promise`. */
export function keepsLoopAlive(promise) {
  const release = holdLoop();
  promise.then(release, release);
  return promise;
}

/** Holds the event loop open, as a referenced socket does in Node, until the returned function
 * is called (calling it again does nothing). */
export function holdLoop() {
  changed(+1);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    changed(-1);
  };
}

/** StarlingMonkey's own setTimeout: a timer that holds nothing open, for the runtime's polling. */
export const nativeSetTimeout = (callback, delay) => native.setTimeout(callback, delay);
export const nativeClearTimeout = (id) => native.clearTimeout(id);

/** How many referenced timers are pending. */
export function pendingTimers() {
  return referenced;
}

export const promises = {
  setTimeout(delay, value, options) {
    return new Promise((resolve, reject) => {
      const signal = options?.signal;
      if (signal?.aborted) return reject(abortError(signal));
      const t = setTimeout(() => resolve(value), delay);
      if (options?.ref === false) t.unref();
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(abortError(signal));
      });
    });
  },
  setImmediate(value, options) {
    return promises.setTimeout(0, value, options);
  },
  async *setInterval(delay, value, options) {
    for (;;) yield await promises.setTimeout(delay, value, options);
  },
  scheduler: {
    wait: (delay, options) => promises.setTimeout(delay, undefined, options),
    yield: () => promises.setTimeout(0),
  },
};

function abortError(signal) {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  err.cause = signal?.reason;
  return err;
}

export function install(g) {
  Object.assign(g, { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate });
}
