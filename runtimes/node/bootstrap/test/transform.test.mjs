// The ESM -> CommonJS transform the loader relies on: every import/export form, live bindings,
// import() and import.meta, syntax errors. Run with `npm test` (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleForNode } from './bundle-for-node.mjs';

const { esmToCjs, renameImportSyntax } = await bundleForNode('transform.js');

/** Runs ES modules given as {path: source} through the transform with a tiny require(). */
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
    const code = esmToCjs(src, `/${name}`);
    const fn = new Function('exports', 'require', 'module', '__lambkin_import_meta', '__lambkin_import', code);
    fn(module.exports, load, module, { url: `file:///${name}` }, (s) => Promise.resolve(load(s)));
    return module.exports;
  };
  return load(entry);
}

test('named, default and namespace imports of an ES module', () => {
  const out = run(
    {
      'lib.mjs': 'export default function greet(n) { return `hi ${n}`; }\nexport const x = 1;\nexport function y() { return 2; }',
      'main.mjs': "import greet, { x, y as why } from 'lib.mjs';\nimport * as ns from 'lib.mjs';\nexport const r = [greet('a'), x, why(), Object.keys(ns).sort()];",
    },
    'main.mjs',
  );
  assert.deepEqual(out.r, ['hi a', 1, 2, ['default', 'x', 'y']]);
});

test('default and named imports of a CommonJS module follow Node (default = module.exports)', () => {
  const out = run(
    {
      'cjs.js': () => Object.assign((n) => n * 2, { named: 'n' }),
      'main.mjs': "import double, { named } from 'cjs.js';\nimport * as ns from 'cjs.js';\nexport const r = [double(2), named, typeof ns.default];",
    },
    'main.mjs',
  );
  assert.deepEqual(out.r, [4, 'n', 'function']);
});

test('every export form', () => {
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

test('export default of an expression and of an anonymous function', () => {
  assert.equal(run({ 'm.mjs': 'export default 6 * 7;' }, 'm.mjs').default, 42);
  assert.equal(run({ 'm.mjs': 'export default async function () { return 1; }' }, 'm.mjs').default.constructor.name, 'AsyncFunction');
  assert.equal(run({ 'm.mjs': 'export default (event) => event;' }, 'm.mjs').default(3), 3);
});

test('the Lambda handler forms', () => {
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

test('side-effect imports run in order', () => {
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

test('import() becomes a promise of the module namespace', async () => {
  const out = run(
    {
      'lazy.mjs': 'export const v = 7;',
      'main.mjs': "export const p = import('lazy.mjs').then((m) => m.v);",
    },
    'main.mjs',
  );
  assert.equal(await out.p, 7);
});

test('import.meta is renamed, also when import() is beside it', async () => {
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

test('a shebang line is not code', () => {
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
