// The module loader: Node's require() resolution and CommonJS wrapper, over wasi:filesystem.
//
// StarlingMonkey has no module loader for files at run time (no dynamic import()), so every
// module is compiled by the runtime itself:
// - CommonJS (.cjs, .js outside a "type": "module" scope): wrapped as
//   `(function (exports, require, module, __filename, __dirname) {...})` and evaluated with
//   indirect eval (line numbers are the file's; `//# sourceURL` names the file in stacks).
// - ES modules (.mjs, .js in a "type": "module" scope, or a .js that only parses as a module):
//   rewritten into that CommonJS form by sucrase's `imports` transform (import/export of every
//   kind, `import()` of files, live bindings through getters), `import.meta` given as a
//   parameter; a module with top-level await is run as an async function (awaited when it is
//   the handler's module).
// - .json: JSON.parse.
// Resolution is Node's: relative and absolute paths with .js/.json/.mjs/.cjs and index files,
// package.json "main" and "exports" (conditions require/import, node, default) and "imports"
// (#name), node_modules directories up the tree, then NODE_PATH (Lambda's:
// /opt/nodejs/node20/node_modules, /opt/nodejs/node_modules, /var/runtime/node_modules).

import { esmToCjs, fastEsmToCjs, renameImportSyntax, stripShebang, DYNAMIC_IMPORT, ESM_SYNTAX } from './transform.js';
import { builtin, builtinModules } from './builtins.js';
import path from './path.js';
import * as wasi from './wasi.js';

const REQUIRE = ['require', 'node', 'node-addons', 'default'];
const IMPORT = ['import', 'node', 'node-addons', 'module-sync', 'default'];
const DEFAULT_NODE_PATH = '/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules';

const decoder = new TextDecoder();
const indirectEval = eval;

export class Module {
  constructor(id = '', parent) {
    this.id = id;
    this.filename = id;
    this.path = path.dirname(id);
    this.exports = {};
    this.loaded = false;
    this.children = [];
    this.paths = nodeModulesPaths(this.path);
    this.parent = parent;
    this.require = makeRequire(this, REQUIRE);
    if (parent) parent.children.push(this);
  }
}

const cache = Object.create(null);
Module._cache = cache;
Module.builtinModules = builtinModules;
Module.isBuiltin = (name) => builtin(name) !== undefined || name === 'module' || name === 'node:module';
Module.createRequire = (filename) => {
  const file = String(filename).startsWith('file:') ? decodeURIComponent(new URL(filename).pathname) : String(filename);
  return makeRequire(new Module(file.endsWith('/') ? file + 'index.js' : file), REQUIRE);
};
Module.Module = Module;
Module.wrap = (script) => `(function (exports, require, module, __filename, __dirname) { ${script}\n});`;
Module._extensions = { '.js': null, '.json': null, '.mjs': null, '.cjs': null };
Module.globalPaths = [];
Module._resolveFilename = (request, parent) => resolveFilename(request, parent?.path ?? '/', REQUIRE);
Module.syncBuiltinESMExports = () => {};
Module.register = () => {};

/** Loads the module behind `request` as `parent` does. */
export function requireFrom(request, parent, conditions) {
  if (typeof request !== 'string' || request === '') {
    const err = new TypeError(`The "id" argument must be of type string. Received ${typeof request}`);
    err.code = 'ERR_INVALID_ARG_TYPE';
    throw err;
  }
  if (request === 'module' || request === 'node:module') return Module;
  const b = builtin(request);
  if (b !== undefined) return b;
  if (request.startsWith('node:')) throw notFound(request, parent, 'ERR_UNKNOWN_BUILTIN_MODULE');
  const filename = resolveFilename(request, parent.path, conditions, parent);
  return loadModule(filename, parent).exports;
}

function makeRequire(module, conditions) {
  const require = (request) => requireFrom(request, module, conditions);
  require.resolve = (request, options) => {
    if (request === 'module' || builtin(request) !== undefined) return request;
    if (options?.paths) {
      for (const p of options.paths) {
        try {
          return resolveFilename(request, path.resolve(p), REQUIRE, module);
        } catch {
          // Next path.
        }
      }
      throw notFound(request, module);
    }
    return resolveFilename(request, module.path, REQUIRE, module);
  };
  require.resolve.paths = (request) => (builtin(request) !== undefined ? null : [...nodeModulesPaths(module.path), ...globalPaths()]);
  require.cache = cache;
  require.extensions = Module._extensions;
  Object.defineProperty(require, 'main', { get: () => mainModule, enumerable: true });
  return require;
}

let mainModule;

// Files and packages.

const kinds = new Map();
function kindOf(p) {
  // /tmp changes under the function's feet; the code's directories do not.
  if (p === '/tmp' || p.startsWith('/tmp/')) return wasi.kind(p);
  if (!kinds.has(p)) kinds.set(p, wasi.kind(p));
  return kinds.get(p);
}
const isFile = (p) => kindOf(p) === 'regular-file';
const isDir = (p) => kindOf(p) === 'directory';

const packages = new Map();
function readPackage(dir) {
  if (packages.has(dir)) return packages.get(dir);
  let pkg = null;
  const file = dir === '/' ? '/package.json' : `${dir}/package.json`;
  if (isFile(file)) {
    try {
      pkg = JSON.parse(decoder.decode(wasi.readFile(file)));
    } catch (e) {
      const err = new Error(`Invalid package config ${file}: ${e.message}`);
      err.code = 'ERR_INVALID_PACKAGE_CONFIG';
      throw err;
    }
  }
  packages.set(dir, pkg);
  return pkg;
}

/** The nearest package.json above `file` (its directory and contents), or null. */
function packageScope(file) {
  let dir = path.dirname(file);
  for (;;) {
    if (path.basename(dir) === 'node_modules') return null;
    const pkg = readPackage(dir);
    if (pkg) return { dir, pkg };
    if (dir === '/') return null;
    dir = path.dirname(dir);
  }
}

export function isModuleFile(filename) {
  if (filename.endsWith('.mjs')) return true;
  if (filename.endsWith('.cjs')) return false;
  if (filename.endsWith('.js')) return packageScope(filename)?.pkg.type === 'module';
  return false;
}

export function nodeModulesPaths(from) {
  const out = [];
  let dir = path.resolve(from);
  for (;;) {
    if (path.basename(dir) !== 'node_modules') out.push(dir === '/' ? '/node_modules' : `${dir}/node_modules`);
    if (dir === '/') break;
    dir = path.dirname(dir);
  }
  return out;
}

function globalPaths() {
  const nodePath = globalThis.process?.env?.NODE_PATH || DEFAULT_NODE_PATH;
  return nodePath.split(':').filter(Boolean);
}

const EXTENSIONS = ['.js', '.json', '.mjs', '.cjs'];

function loadAsFile(x) {
  if (isFile(x)) return x;
  for (const ext of EXTENSIONS) if (isFile(x + ext)) return x + ext;
  return null;
}

function loadIndex(x) {
  for (const ext of EXTENSIONS) if (isFile(`${x}/index${ext}`)) return `${x}/index${ext}`;
  return null;
}

function loadAsDirectory(x) {
  if (!isDir(x)) return null;
  const pkg = readPackage(x);
  if (pkg && typeof pkg.main === 'string' && pkg.main) {
    const m = path.resolve(x, pkg.main);
    const found = loadAsFile(m) ?? loadIndex(m);
    if (found) return found;
  }
  return loadIndex(x);
}

function notFound(request, parent, code = 'MODULE_NOT_FOUND') {
  const stack = [];
  for (let m = parent; m && m.filename; m = m.parent) stack.push(`- ${m.filename}`);
  const err = new Error(`Cannot find module '${request}'${stack.length ? `\nRequire stack:\n${stack.join('\n')}` : ''}`);
  err.code = code;
  err.requireStack = stack.map((s) => s.slice(2));
  return err;
}

/** The file `request` names when required from `dir`. */
export function resolveFilename(request, dir, conditions = REQUIRE, parent) {
  if (request.startsWith('file:')) request = decodeURIComponent(new URL(request).pathname);
  if (request.startsWith('./') || request.startsWith('../') || request.startsWith('/') || request === '.' || request === '..') {
    const x = path.resolve(dir, request);
    const found = (request.endsWith('/') ? null : loadAsFile(x)) ?? loadAsDirectory(x);
    if (found) return found;
    throw notFound(request, parent);
  }
  if (request.startsWith('#')) {
    const scope = packageScope(path.join(dir, 'x'));
    if (scope?.pkg.imports) {
      const target = resolveMap(scope.dir, scope.pkg.imports, request, conditions, true);
      if (target) {
        if (target.startsWith('/')) return target;
        return resolveFilename(target, scope.dir, conditions, parent);
      }
    }
    throw notFound(request, parent, 'ERR_PACKAGE_IMPORT_NOT_DEFINED');
  }
  const parts = request.split('/');
  const name = request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const subpath = request.slice(name.length);
  // A package may require itself by its own name.
  const self = packageScope(path.join(dir, 'x'));
  if (self?.pkg.name === name && self.pkg.exports !== undefined) {
    const target = resolveMap(self.dir, self.pkg.exports, '.' + subpath, conditions, false);
    if (target && isFile(target)) return target;
  }
  for (const base of [...nodeModulesPaths(dir), ...globalPaths()]) {
    const pkgDir = `${base}/${name}`;
    if (!isDir(pkgDir)) continue;
    const pkg = readPackage(pkgDir);
    if (pkg && pkg.exports !== undefined && pkg.exports !== null) {
      const target = resolveMap(pkgDir, pkg.exports, '.' + subpath, conditions, false);
      if (target && isFile(target)) return target;
      if (target) throw notFound(request, parent);
      const err = new Error(`Package subpath '.${subpath}' is not defined by "exports" in ${pkgDir}/package.json`);
      err.code = 'ERR_PACKAGE_PATH_NOT_EXPORTED';
      throw err;
    }
    const x = pkgDir + subpath;
    const found = (subpath ? loadAsFile(x) : null) ?? loadAsDirectory(x);
    if (found) return found;
  }
  throw notFound(request, parent);
}

/** Node's PACKAGE_EXPORTS_RESOLVE / PACKAGE_IMPORTS_RESOLVE: the file for `key`, or null. */
function resolveMap(pkgDir, map, key, conditions, imports) {
  if (!imports && (typeof map === 'string' || Array.isArray(map) || !Object.keys(map).some((k) => k.startsWith('.')))) {
    map = { '.': map };
  }
  if (Object.prototype.hasOwnProperty.call(map, key) && !key.includes('*')) {
    return resolveTarget(pkgDir, map[key], '', conditions);
  }
  let best = null;
  for (const k of Object.keys(map)) {
    const star = k.indexOf('*');
    if (star >= 0) {
      const prefix = k.slice(0, star);
      const suffix = k.slice(star + 1);
      if (key.startsWith(prefix) && key.length >= k.length && key.endsWith(suffix)) {
        if (!best || prefix.length > best.prefix.length) {
          best = { k, prefix, match: key.slice(prefix.length, key.length - suffix.length) };
        }
      }
    } else if (k.endsWith('/') && key.startsWith(k) && (!best || k.length > best.prefix.length)) {
      best = { k, prefix: k, match: key.slice(k.length), folder: true };
    }
  }
  if (!best) return null;
  const target = map[best.k];
  if (best.folder) {
    const base = resolveTarget(pkgDir, target, '', conditions);
    return base ? base + best.match : null;
  }
  return resolveTarget(pkgDir, target, best.match, conditions);
}

function resolveTarget(pkgDir, target, match, conditions) {
  if (typeof target === 'string') {
    const t = target.replaceAll('*', match);
    if (t.startsWith('./')) return path.resolve(pkgDir, t);
    return t; // a bare specifier (package imports): resolved by the caller
  }
  if (Array.isArray(target)) {
    for (const t of target) {
      const r = resolveTarget(pkgDir, t, match, conditions);
      if (r) return r;
    }
    return null;
  }
  if (target && typeof target === 'object') {
    for (const [condition, t] of Object.entries(target)) {
      if (conditions.includes(condition)) {
        const r = resolveTarget(pkgDir, t, match, conditions);
        if (r) return r;
      }
    }
  }
  return null;
}

// Compiling and running modules.

/** Loads (once) and returns the module for `filename`. */
export function loadModule(filename, parent) {
  const cached = cache[filename];
  if (cached) {
    if (parent && !parent.children.includes(cached)) parent.children.push(cached);
    return cached;
  }
  const module = new Module(filename, parent);
  cache[filename] = module;
  const t0 = tracing ? performance.now() : 0;
  try {
    const source = decoder.decode(wasi.readFile(filename));
    if (tracing) module.trace = { read: performance.now() - t0, transform: 0, compile: 0 };
    if (filename.endsWith('.json')) {
      try {
        module.exports = JSON.parse(source);
      } catch (e) {
        e.message = `${filename}: ${e.message}`;
        throw e;
      }
    } else if (isModuleFile(filename)) {
      runESM(module, source);
    } else {
      runCJS(module, source);
    }
  } catch (e) {
    delete cache[filename];
    const i = parent?.children.indexOf(module);
    if (i >= 0) parent.children.splice(i, 1);
    throw e;
  }
  module.loaded = true;
  if (tracing) {
    const t = module.trace;
    globalThis.console.log(
      `lambkin: loaded ${filename} in ${(performance.now() - t0).toFixed(1)} ms (read ${t.read.toFixed(1)}, transform ${t.transform.toFixed(1)}${t.sucrase ? ' by sucrase' : ''}, compile ${t.compile.toFixed(1)}, the rest running it and its dependencies)`,
    );
  }
  return module;
}

// LAMBKIN_NODE_TRACE_LOADS=1: one log line per module loaded, with where its time went.
let tracing = false;
export function traceLoads(on) {
  tracing = Boolean(on);
}

function compile(params, body, filename, async, module, block = false) {
  const head = async ? '(async function' : '(function';
  const t0 = tracing ? performance.now() : 0;
  const [open, close] = block ? ['{{', '\n}})'] : ['{', '\n})'];
  try {
    return indirectEval(`${head} (${params}) ${open}${body}${close}\n//# sourceURL=${filename}`);
  } finally {
    if (tracing && module?.trace) module.trace.compile += performance.now() - t0;
  }
}



/** What `import(specifier)` resolves to in `module`: the namespace of the module loaded. */
function dynamicImport(module) {
  return (specifier) =>
    Promise.resolve().then(() => {
      const exports = requireFrom(String(specifier), module, IMPORT);
      if (exports && exports.__esModule) return exports;
      const ns = { default: exports };
      if (exports && (typeof exports === 'object' || typeof exports === 'function')) {
        for (const k of Object.keys(exports)) if (k !== 'default') ns[k] = exports[k];
      }
      return ns;
    });
}

function importMeta(module) {
  return {
    url: 'file://' + module.filename,
    filename: module.filename,
    dirname: module.path,
    resolve: (specifier) => 'file://' + resolveFilename(specifier, module.path, IMPORT, module),
  };
}

function runCJS(module, source) {
  let body = stripShebang(source);
  if (DYNAMIC_IMPORT.test(body)) body = renameImportSyntax(body);
  let fn;
  try {
    fn = compile('exports, require, module, __filename, __dirname, __lambkin_import', body, module.filename, false, module);
  } catch (e) {
    // Node 22's syntax detection: a .js file that only parses as a module is one.
    if (e instanceof SyntaxError && ESM_SYNTAX.test(body)) return runESM(module, source);
    throw locate(e, module.filename);
  }
  fn.call(module.exports, module.exports, module.require, module, module.filename, module.path, dynamicImport(module));
}

// What the fast path's rewritten modules call (see transform.js).
const namespaces = new WeakMap();
function namespaceOf(m) {
  if (m && m.__esModule) return m;
  if (m === null || (typeof m !== 'object' && typeof m !== 'function')) return { default: m };
  let ns = namespaces.get(m);
  if (!ns) {
    ns = { default: m };
    for (const k of Object.keys(m)) if (k !== 'default') ns[k] = m[k];
    namespaces.set(m, ns);
  }
  return ns;
}
const helpers = {
  ns: namespaceOf,
  def: (m) => (m && m.__esModule ? m.default : m),
  get: (exports, name, get) => Object.defineProperty(exports, name, { enumerable: true, configurable: true, get }),
  star(exports, m) {
    const ns = namespaceOf(m);
    for (const k of Object.keys(ns)) {
      if (k === 'default' || k === '__esModule' || Object.prototype.hasOwnProperty.call(exports, k)) continue;
      Object.defineProperty(exports, k, { enumerable: true, configurable: true, get: () => ns[k] });
    }
  },
};

let fastPath = true;
/** LAMBKIN_NODE_ESM=sucrase: every ES module through sucrase (the fast path off). */
export function useFastEsm(on) {
  fastPath = Boolean(on);
}

/** The fast path's rewrite of `source`, when it applies: its dependencies are evaluated first
 * (ES module order); an import cycle, or named imports of a module whose exports may change
 * (`export let`), send the module to sucrase instead, whose output reads imports when used. */
function fastTransform(module, source) {
  if (!fastPath) return null;
  const t0 = tracing ? performance.now() : 0;
  const fast = fastEsmToCjs(source);
  if (tracing && module.trace) module.trace.transform += performance.now() - t0;
  if (!fast) return null;
  for (const dep of fast.deps) {
    if (dep.specifier === 'module' || dep.specifier === 'node:module' || builtin(dep.specifier) !== undefined) continue;
    let file;
    try {
      file = resolveFilename(dep.specifier, module.path, IMPORT, module);
    } catch {
      return null; // sucrase's require() raises the error where Node does
    }
    const loading = cache[file];
    if (loading && !loading.loaded) return null;
    const loaded = loadModule(file, module);
    if (dep.bindings && loaded.mutableExports) return null;
  }
  return fast;
}

function runESM(module, source) {
  const require = makeRequire(module, IMPORT);
  const meta = importMeta(module);
  const params =
    'exports, require, module, __filename, __dirname, __lambkin_import_meta, __lambkin_import, __lambkin, __lambkin_exports, __lambkin_require';
  let code;
  const fast = fastTransform(module, source);
  if (fast) {
    code = fast.code;
    module.mutableExports = fast.mutable;
  } else {
    const t0 = tracing ? performance.now() : 0;
    code = esmToCjs(source, module.filename);
    if (tracing && module.trace) {
      module.trace.transform += performance.now() - t0;
      module.trace.sucrase = true;
    }
    module.mutableExports = /\bexport\s+(?:let|var)\b/.test(source);
  }
  let fn;
  let async = false;
  try {
    fn = compile(params, code, module.filename, false, module, true);
  } catch (e) {
    // A module with top-level await only compiles as an async function.
    if (!(e instanceof SyntaxError) || !/\bawait\b/.test(code)) {
      // The fast path does not parse: sucrase says what is wrong, and where.
      if (fast && e instanceof SyntaxError) esmToCjs(source, module.filename);
      throw locate(e, module.filename);
    }
    try {
      fn = compile(params, code, module.filename, true, module, true);
      async = true;
    } catch (e2) {
      if (fast) esmToCjs(source, module.filename);
      throw locate(e2, module.filename);
    }
  }
  module.esm = true;
  const result = fn.call(
    undefined,
    module.exports,
    require,
    module,
    module.filename,
    module.path,
    meta,
    dynamicImport(module),
    helpers,
    module.exports,
    require,
  );
  if (async) module.evaluation = result;
}

function locate(e, filename) {
  if (e instanceof SyntaxError && !e.fileName?.startsWith('/')) e.fileName = filename;
  return e;
}

/** Loads the main module (the handler's), whose top-level await, if any, is awaited. */
export async function loadMain(filename) {
  const module = loadModule(filename, undefined);
  mainModule = module;
  if (module.evaluation) await module.evaluation;
  return module;
}

/** Which file Lambda's Node runtime loads for module `name` under `root` (`index` → index.js,
 * index.mjs or index.cjs, in that order as the package scope allows), or null. */
export function findHandlerModule(root, moduleRoot, name) {
  const base = path.resolve(root, moduleRoot, name);
  if (isFile(base)) return base;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (isFile(base + ext)) return base + ext;
  }
  try {
    return resolveFilename(name, path.resolve(root, moduleRoot), REQUIRE);
  } catch {
    return null;
  }
}

/** Forgets what was learnt about the file system (after a snapshot is restored). */
export function forgetFileSystem() {
  kinds.clear();
  packages.clear();
}
