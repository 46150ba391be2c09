// The ESM -> CommonJS transform the loader relies on: every import/export form, live bindings,
// import() and import.meta, syntax errors. Run with `npm test` (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleForNode } from './bundle-for-node.mjs';

const { esmToCjs, fastEsmToCjs, renameImportSyntax, singleDeclarator } = await bundleForNode('transform.js');

// The loader's helpers for the fast path's output (loader.js has the same).
const helpers = {
  ns: (m) => (m && m.__esModule ? m : Object.assign({ default: m }, m)),
  def: (m) => (m && m.__esModule ? m.default : m),
  get: (exports, name, get) => Object.defineProperty(exports, name, { enumerable: true, configurable: true, get }),
  star(exports, m) {
    const ns = helpers.ns(m);
    for (const k of Object.keys(ns)) {
      if (k === 'default' || k === '__esModule' || Object.prototype.hasOwnProperty.call(exports, k)) continue;
      Object.defineProperty(exports, k, { enumerable: true, get: () => ns[k] });
    }
  },
};

const MODES = ['sucrase', 'fast'];
let mode = 'sucrase';
const fastHits = [];

/** Runs ES modules given as {path: source} through the transform of `mode` with a tiny
 * require(); the fast path's dependencies are evaluated first, as the loader does. */
function run(files, entry) {
  const cache = {};
  const load = (name) => {
    if (cache[name]) return cache[name].exports;
    const module = { exports: {} };
    cache[name] = module;
    const src = files[name];
    if (typeof src === 'function') {
      module.exports = src();
      return module.exports;
    }
    const fast = mode === 'fast' ? fastEsmToCjs(src) : null;
    if (fast) {
      fastHits.push(name);
      for (const dep of fast.deps) load(dep.specifier);
    }
    const code = fast ? fast.code : esmToCjs(src, `/${name}`);
    const fn = new Function('exports', 'require', 'module', '__lambkin_import_meta', '__lambkin_import', '__lambkin', '__lambkin_exports', '__lambkin_require', `{${code}\n}`);
    fn(module.exports, load, module, { url: `file:///${name}` }, (s) => Promise.resolve(load(s)), helpers, module.exports, load);
    return module.exports;
  };
  return load(entry);
}

/** `test` once per transform. */
function both(name, body) {
  for (const m of MODES) {
    test(`${name} [${m}]`, async () => {
      mode = m;
      try {
        await body();
      } finally {
        mode = 'sucrase';
      }
    });
  }
}

both('named, default and namespace imports of an ES module', () => {
  const out = run(
    {
      'lib.mjs': 'export default function greet(n) { return `hi ${n}`; }\nexport const x = 1;\nexport function y() { return 2; }',
      'main.mjs': "import greet, { x, y as why } from 'lib.mjs';\nimport * as ns from 'lib.mjs';\nexport const r = [greet('a'), x, why(), Object.keys(ns).sort()];",
    },
    'main.mjs',
  );
  assert.deepEqual(out.r, ['hi a', 1, 2, ['default', 'x', 'y']]);
});

both('default and named imports of a CommonJS module follow Node (default = module.exports)', () => {
  const out = run(
    {
      'cjs.js': () => Object.assign((n) => n * 2, { named: 'n' }),
      'main.mjs': "import double, { named } from 'cjs.js';\nimport * as ns from 'cjs.js';\nexport const r = [double(2), named, typeof ns.default];",
    },
    'main.mjs',
  );
  assert.deepEqual(out.r, [4, 'n', 'function']);
});

both('every export form', () => {
  const out = run(
    {
      'a.mjs': 'export const a = 1; export let b = 2; export var c = 3;\nexport function f() {}\nexport class K {}\nconst d = 4, e = 5;\nexport { d, e as ee };',
      'b.mjs': "export * from 'a.mjs';\nexport { a as aa } from 'a.mjs';\nexport * as all from 'a.mjs';\nexport default class {}",
    },
    'b.mjs',
  );
  assert.deepEqual(
    Object.keys(out).filter((k) => k !== '__esModule').sort(),
    ['K', 'a', 'aa', 'all', 'b', 'c', 'd', 'default', 'ee', 'f'],
  );
  assert.equal(out.aa, 1);
  assert.equal(out.all.ee, 5);
  assert.equal(typeof out.default, 'function');
});

both('export default of an expression and of an anonymous function', () => {
  assert.equal(run({ 'm.mjs': 'export default 6 * 7;' }, 'm.mjs').default, 42);
  assert.equal(run({ 'm.mjs': 'export default async function () { return 1; }' }, 'm.mjs').default.constructor.name, 'AsyncFunction');
  assert.equal(run({ 'm.mjs': 'export default (event) => event;' }, 'm.mjs').default(3), 3);
});

both('the Lambda handler forms', () => {
  assert.equal(typeof run({ 'm.mjs': 'export const handler = async (event) => event;' }, 'm.mjs').handler, 'function');
  assert.equal(typeof run({ 'm.mjs': 'export async function handler(event, context) {}' }, 'm.mjs').handler, 'function');
  assert.equal(typeof run({ 'm.mjs': 'const handler = () => 1;\nexport { handler };' }, 'm.mjs').handler, 'function');
});

test('live bindings: an importer sees a later assignment', () => {
  const out = run(
    {
      'counter.mjs': 'export let count = 0;\nexport function inc() { count += 1; }',
      'main.mjs': "import { count, inc } from 'counter.mjs';\nexport function read() { inc(); inc(); return count; }",
    },
    'main.mjs',
  );
  assert.equal(out.read(), 2);
});

both('side-effect imports run in order', () => {
  const order = [];
  globalThis.__order = order;
  run(
    {
      'one.mjs': "globalThis.__order.push('one');",
      'two.mjs': "globalThis.__order.push('two');",
      'main.mjs': "import 'one.mjs';\nimport 'two.mjs';\nglobalThis.__order.push('main');",
    },
    'main.mjs',
  );
  assert.deepEqual(order, ['one', 'two', 'main']);
  delete globalThis.__order;
});

both('import() becomes a promise of the module namespace', async () => {
  const out = run(
    {
      'lazy.mjs': 'export const v = 7;',
      'main.mjs': "export const p = import('lazy.mjs').then((m) => m.v);",
    },
    'main.mjs',
  );
  assert.equal(await out.p, 7);
});

both('import.meta is renamed, also when import() is beside it', async () => {
  const out = run(
    {
      'lazy.mjs': 'export const v = 1;',
      'main.mjs': "export const url = import.meta.url;\nexport const s = 'import.meta in a string';\nexport const p = import('lazy.mjs');",
    },
    'main.mjs',
  );
  assert.equal(out.url, 'file:///main.mjs');
  assert.equal(out.s, 'import.meta in a string');
  assert.equal((await out.p).v, 1);
});

test('top-level await survives the transform, for an async wrapper', async () => {
  const code = esmToCjs('const x = await Promise.resolve(5);\nexport const y = x + 1;', '/tla.mjs');
  assert.throws(() => new Function('exports', 'require', code), SyntaxError);
  const AsyncFunction = (async () => {}).constructor;
  const exports = {};
  await new AsyncFunction('exports', 'require', code)(exports, () => ({}));
  assert.equal(exports.y, 6);
});

test('line numbers are kept', () => {
  const code = esmToCjs("import a from 'a';\n\nexport const f = () => {\n  throw new Error('x');\n};\n", '/l.mjs');
  const lines = code.split('\n');
  assert.match(lines[3], /throw new Error/);
});

test('a syntax error is a SyntaxError with its line and column', () => {
  try {
    esmToCjs('export const handler = async () => {\n  const x = ;\n};', '/bad.mjs');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.lineNumber, 2);
    assert.equal(e.fileName, '/bad.mjs');
    assert.doesNotMatch(e.message, /Error transforming/);
  }
});

both('a shebang line is not code', () => {
  assert.equal(run({ 'm.mjs': '#!/usr/bin/env node\nexport const a = 1;' }, 'm.mjs').a, 1);
});

test('renameImportSyntax leaves strings, comments, templates and members alone', () => {
  const src = "const p = import('x'); // import('no')\nconst s = 'import(\"no\")'; obj.import(1);\nconst t = `import.meta`; const u = import.meta.url;\nfunction f() { return import(`./y`); }";
  const out = renameImportSyntax(src);
  assert.equal(
    out,
    "const p = __lambkin_import('x'); // import('no')\nconst s = 'import(\"no\")'; obj.import(1);\nconst t = `import.meta`; const u = __lambkin_import_meta.url;\nfunction f() { return __lambkin_import(`./y`); }",
  );
});

test('renameImportSyntax leaves a source it cannot tokenize as it is', () => {
  const src = 'const x = ;import("a")';
  assert.equal(renameImportSyntax(src), src);
});

both('live bindings through the exporter: a namespace import sees a later assignment', () => {
  const out = run(
    {
      'counter.mjs': 'export let count = 0;\nexport function inc() { count += 1; }',
      'main.mjs': "import * as c from 'counter.mjs';\nexport function read() { c.inc(); c.inc(); return c.count; }",
    },
    'main.mjs',
  );
  assert.equal(out.read(), 2);
});

both('a handler module the way people write them', async () => {
  const out = run(
    {
      'db.mjs': "export const table = process.env.TABLE ?? 'orders';\nexport async function get(id) { return { id, table }; }",
      'index.mjs': [
        "import { get, table } from 'db.mjs';",
        "import * as path from 'path';",
        '',
        'const cache = new Map();',
        '',
        'export const handler = async (event, context) => {',
        "  const key = `${table}/${event.id}`; // a comment, with a comma",
        "  if (!cache.has(key)) cache.set(key, await get(event.id, /x,y/g));",
        "  return { item: cache.get(key), sep: path.sep ?? '/', n: [1, 2].map((x) => x * 2) };",
        '}',
        '',
        'export function helper(a, b) { return a + b }',
      ].join('\n'),
      path: () => ({ sep: '/' }),
    },
    'index.mjs',
  );
  assert.deepEqual(await out.handler({ id: 7 }), { item: { id: 7, table: 'orders' }, sep: '/', n: [2, 4] });
  assert.equal(out.helper(1, 2), 3);
});

test('the fast path takes the common shapes', () => {
  const shapes = [
    "import a from 'a';\nexport const handler = async (e) => a(e);",
    "import { x, y as z } from 'a';\nimport * as ns from 'b';\nimport 'c';\nexport function f() {}\nexport default class extends Object {}",
    "export const a = { b: [1, 2], c: `t ${1 + 2}, ${'x'}` };\nexport const d = (1, 2);\nexport let e = f(1, 2)\nexport var g = /a,b/g.test('a,b')",
    "const a = 1, b = 2;\nexport { a, b as c };\nexport { d } from 'd';\nexport * from 'e';\nexport * as f from 'f';",
    "export default async function* gen() {}\nexport async function h() { return import('x') }\nconst u = import.meta.url;",
    "export const config = {\n  a: 1,\n  b: 2,\n}\nexport const next = 3",
  ];
  for (const src of shapes) assert.ok(fastEsmToCjs(src), src);
});

test('the fast path gives up on what it does not rewrite', () => {
  const refused = [
    'export const a = 1, b = 2;',
    'export let x = 1\n  , y = 2',
    'export const { a, b } = obj;',
    'export const [a] = arr;',
    "import { 'a-b' as c } from 'x';",
    "import data from './d.json' with { type: 'json' };",
    "export { x as 'string name' };",
  ];
  for (const src of refused) assert.equal(fastEsmToCjs(src), null, src);
});

test('the fast path marks exports that are assigned again mutable', () => {
  assert.equal(fastEsmToCjs('export const a = 1;').mutable, false);
  assert.equal(fastEsmToCjs('export let a = 1;').mutable, false);
  assert.equal(fastEsmToCjs('export let a = 1;\nexport function inc() { a += 1; }').mutable, true);
  assert.equal(fastEsmToCjs('export let a = 1;\na++;').mutable, true);
  assert.equal(fastEsmToCjs('export var a = 1;\nfunction f() { a = 2 }').mutable, true);
  assert.equal(fastEsmToCjs('export let a = 1;\nif (a == 2 || b.a = 3) {}').mutable, false);
  assert.equal(fastEsmToCjs('let a = 1;\nexport { a };\nfunction set(v) { a = v; }').mutable, true);
  assert.equal(fastEsmToCjs('let a = 1;\nexport { a };').mutable, false);
  assert.equal(fastEsmToCjs('export let a;\nexport function init() { a = 1; }').mutable, true);
  assert.equal(fastEsmToCjs('function a() {}\nexport { a };').mutable, false);
});

test('the fast path keeps line numbers', () => {
  const { code } = fastEsmToCjs("import a from 'a';\nimport {\n  b,\n  c,\n} from 'b';\nexport const f = () => {\n  throw new Error('x');\n};\n");
  assert.match(code.split('\n')[6], /throw new Error/);
});

test('singleDeclarator follows strings, templates, comments, regexes and brackets', () => {
  const single = (s) => singleDeclarator(s, 0);
  assert.equal(single(" = 'a,b';"), true);
  assert.equal(single(' = `a,${[1, 2]},b`;'), true);
  assert.equal(single(' = /,/g; x, y'), true);
  assert.equal(single(' = a / b, c = 1'), false);
  assert.equal(single(' = f(1, 2) // a, b\n, c = 1'), false);
  assert.equal(single(' = {\n a: 1,\n}\nexport const b = 2, c = 3'), true);
  assert.equal(single(' = 1 /* , */;'), true);
  assert.equal(single(' = `${`${1, 2}`}`, d'), false);
});

// Differential check over real ES modules: every file the fast path takes must compile, and
// export the same names as sucrase's output.
test('real npm ES modules: the fast path compiles them and exports what acorn says they export', async () => {
  const fs = await import('node:fs');
  const acorn = await import('acorn');
  let checked = 0;
  const path = await import('node:path');
  const roots = [
    new URL('../node_modules/', import.meta.url).pathname,
    new URL('../../demo/layer-deps/node_modules/', import.meta.url).pathname,
  ];
  const files = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(mjs|js)$/.test(e.name) && files.length < 4000) files.push(p);
    }
  };
  for (const r of roots) if (fs.existsSync(r)) walk(r);
  const AsyncFunction = (async () => {}).constructor;
  let taken = 0;
  let esm = 0;
  for (const file of files) {
    const src = fs.readFileSync(file, 'utf8');
    if (!/^\s*(import|export)\b/m.test(src) || src.length > 300000) continue;
    let reference;
    try {
      reference = esmToCjs(src, file);
    } catch {
      continue; // not an ES module sucrase takes (TypeScript, Flow, JSX...)
    }
    esm += 1;
    const fast = fastEsmToCjs(src);
    if (!fast) continue;
    taken += 1;
    const params = ['exports', 'require', 'module', '__filename', '__dirname', '__lambkin_import_meta', '__lambkin_import', '__lambkin', '__lambkin_exports', '__lambkin_require'];
    try {
      new Function(...params, `{${fast.code}\n}`);
    } catch (e) {
      if (!(e instanceof SyntaxError) || !/\bawait\b/.test(fast.code)) throw new Error(`${file}: ${e.message}`);
      new AsyncFunction(...params, `{${fast.code}\n}`);
    }
    // The names a real parser (acorn) sees exported; `export * from` adds names only at run time.
    let ast;
    try {
      ast = acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
    } catch {
      continue;
    }
    if (ast.body.some((n) => n.type === 'ExportAllDeclaration' && !n.exported)) continue;
    const theirs = new Set();
    for (const n of ast.body) {
      if (n.type === 'ExportDefaultDeclaration') theirs.add('default');
      else if (n.type === 'ExportAllDeclaration') theirs.add(n.exported.name ?? n.exported.value);
      else if (n.type === 'ExportNamedDeclaration') {
        for (const sp of n.specifiers) theirs.add(sp.exported.name ?? sp.exported.value);
        const d = n.declaration;
        if (d?.id) theirs.add(d.id.name);
        for (const decl of d?.declarations ?? []) theirs.add(decl.id.name);
      }
    }
    const ours = new Set([...fast.code.matchAll(/__lambkin\.get\(__lambkin_exports, "([^"]+)"/g)].map((m) => m[1]));
    if (/__lambkin_exports\.default =/.test(fast.code)) ours.add('default');
    assert.deepEqual([...ours].sort(), [...theirs].sort(), file);
    checked += 1;
  }
  assert.ok(esm > 50, `only ${esm} ES modules found`);
  assert.ok(taken / esm > 0.5, `the fast path took ${taken} of ${esm}`);
  assert.ok(checked > 100, `export names compared for ${checked} modules only`);
  console.log(`fast path: ${taken} of ${esm} ES modules, export names checked for ${checked}`);
});
