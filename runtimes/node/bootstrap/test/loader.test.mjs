// The module loader's resolution and loading (Node's require() algorithm, package.json main,
// exports and imports, NODE_PATH, "type": "module", Lambda's handler file lookup) over a file
// tree on the host standing in for /opt. Run with `npm test`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode } from './bundle-for-node.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lambkin-loader-'));
globalThis.__lambkinTestRoot = root;

function write(files) {
  for (const [p, content] of Object.entries(files)) {
    const file = path.join(root, p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
}

write({
  '/opt/app/package.json': { name: 'app', imports: { '#internal': './internal/impl.js', '#deps/*': './deps/*.js' } },
  '/opt/app/index.js': 'exports.handler = async () => "cjs";\nexports.here = __filename;',
  '/opt/app/index.mjs': 'export const handler = async () => "mjs";',
  '/opt/app/only-mjs.mjs': 'export const handler = async () => "only mjs";',
  '/opt/app/lib.js': 'module.exports = { lib: true };',
  '/opt/app/data.json': { stage: 'test' },
  '/opt/app/dir/index.js': 'exports.dir = true;',
  '/opt/app/internal/impl.js': 'exports.internal = true;',
  '/opt/app/deps/one.js': 'exports.one = 1;',
  '/opt/app/node_modules/pkg-main/package.json': { name: 'pkg-main', main: 'lib/entry' },
  '/opt/app/node_modules/pkg-main/lib/entry.js': 'exports.main = require("../package.json").name;',
  '/opt/app/node_modules/pkg-exports/package.json': {
    name: 'pkg-exports',
    exports: {
      '.': { import: './esm.mjs', require: './cjs.cjs' },
      './feature': './feature.js',
      './sub/*': './dist/*.js',
      './package.json': './package.json',
    },
  },
  '/opt/app/node_modules/pkg-exports/esm.mjs': 'export const kind = "esm";',
  '/opt/app/node_modules/pkg-exports/cjs.cjs': 'exports.kind = "cjs";',
  '/opt/app/node_modules/pkg-exports/feature.js': 'exports.feature = true;',
  '/opt/app/node_modules/pkg-exports/dist/deep.js': 'exports.deep = true;',
  '/opt/app/node_modules/pkg-exports/secret.js': 'exports.secret = true;',
  '/opt/app/node_modules/@scope/pkg/package.json': { name: '@scope/pkg', version: '1.0.0' },
  '/opt/app/node_modules/@scope/pkg/index.js': 'exports.scoped = true;',
  '/opt/nodejs/node_modules/shared/index.js': 'exports.shared = "from the layer";',
  '/opt/esm/package.json': { type: 'module' },
  '/opt/esm/index.js': "import { kind } from 'pkg-exports';\nimport lib from '../app/lib.js';\nimport * as fs from 'node:fs';\nexport const handler = () => [kind, lib.lib, fs.builtin];",
  '/opt/esm/node_modules/pkg-exports': null,
  '/opt/detect/index.js': "import { one } from '../app/deps/one.js';\nexport const handler = () => one;",
  '/opt/broken/index.js': 'exports.handler = () => {',
});
fs.rmSync(path.join(root, '/opt/esm/node_modules'), { recursive: true, force: true });
fs.symlinkSync(path.join(root, '/opt/app/node_modules'), path.join(root, '/opt/esm/node_modules'));

let loader;
before(async () => {
  loader = await bundleForNode('loader.js', {
    stubs: { 'wasi.js': path.join(here, 'stubs/wasi.js'), 'builtins.js': path.join(here, 'stubs/builtins.js') },
  });
});

const requireIn = (file, request) => loader.Module.createRequire(file)(request);

test('relative files, extensions, directories and JSON', () => {
  const from = '/opt/app/index.js';
  assert.deepEqual(requireIn(from, './lib'), { lib: true });
  assert.deepEqual(requireIn(from, './lib.js'), { lib: true });
  assert.deepEqual(requireIn(from, './dir'), { dir: true });
  assert.deepEqual(requireIn(from, './data.json'), { stage: 'test' });
  assert.equal(requireIn(from, './index').here, '/opt/app/index.js');
});

test('node_modules: package.json main without an extension, scoped packages, the module cache', () => {
  const from = '/opt/app/index.js';
  assert.equal(requireIn(from, 'pkg-main').main, 'pkg-main');
  assert.equal(requireIn(from, '@scope/pkg').scoped, true);
  assert.equal(requireIn(from, '@scope/pkg/package.json').version, '1.0.0');
  assert.equal(requireIn(from, 'pkg-main'), requireIn('/opt/app/other.js', 'pkg-main'));
});

test('package.json "exports": conditions, subpaths, patterns, and what is not exported', () => {
  const from = '/opt/app/index.js';
  assert.equal(requireIn(from, 'pkg-exports').kind, 'cjs');
  assert.equal(requireIn(from, 'pkg-exports/feature').feature, true);
  assert.equal(requireIn(from, 'pkg-exports/sub/deep').deep, true);
  assert.throws(() => requireIn(from, 'pkg-exports/secret.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

test('package.json "imports" (#name and #pattern/*)', () => {
  assert.equal(requireIn('/opt/app/index.js', '#internal').internal, true);
  assert.equal(requireIn('/opt/app/index.js', '#deps/one').one, 1);
});

test("NODE_PATH's defaults: a layer's nodejs/node_modules", () => {
  assert.equal(requireIn('/opt/app/index.js', 'shared').shared, 'from the layer');
});

test('built-ins with and without node:', () => {
  assert.equal(requireIn('/opt/app/index.js', 'fs').builtin, 'fs');
  assert.equal(requireIn('/opt/app/index.js', 'node:path').builtin, 'path');
  assert.throws(() => requireIn('/opt/app/index.js', 'node:nope'), { code: 'ERR_UNKNOWN_BUILTIN_MODULE' });
});

test('a missing module: MODULE_NOT_FOUND with the require stack', () => {
  assert.throws(() => requireIn('/opt/app/index.js', 'not-there'), (e) => {
    assert.equal(e.code, 'MODULE_NOT_FOUND');
    assert.match(e.message, /^Cannot find module 'not-there'\nRequire stack:\n- \/opt\/app\/index\.js/);
    return true;
  });
});

test('"type": "module" scopes make .js an ES module, imported with the import condition', async () => {
  const module = await loader.loadMain('/opt/esm/index.js');
  assert.deepEqual(module.exports.handler(), ['esm', true, 'fs']);
});

test('a .js outside a module scope that only parses as a module is one (Node 22 detection)', async () => {
  const module = await loader.loadMain('/opt/detect/index.js');
  assert.equal(module.exports.handler(), 1);
});

test("the handler's file: .js before .mjs, then .mjs, .cjs; null when there is none", () => {
  assert.equal(loader.findHandlerModule('/opt', 'app', 'index'), '/opt/app/index.js');
  assert.equal(loader.findHandlerModule('/opt', 'app', 'only-mjs'), '/opt/app/only-mjs.mjs');
  assert.equal(loader.findHandlerModule('/opt', '', 'nothing'), null);
  assert.equal(loader.findHandlerModule('/var/task', '', 'index'), null);
});

test('a syntax error surfaces as a SyntaxError naming the file', async () => {
  await assert.rejects(loader.loadMain('/opt/broken/index.js'), (e) => {
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.fileName, '/opt/broken/index.js');
    return true;
  });
});
