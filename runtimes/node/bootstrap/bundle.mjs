// Bundles the runtime (src/index.js and the npm polyfills it uses) into one ES module for
// componentize-js. The WIT interfaces (wasi:*, lambkin:*) stay imports; Node built-in names that
// the polyfills require among themselves are mapped to the polyfills.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const [out = path.join(here, 'dist/runtime.js')] = process.argv.slice(2);

const src = (f) => path.join(here, 'src', f);
const pkg = (p) => path.join(here, 'node_modules', p);
const NODE_NAMES = {
  process: src('process-global.cjs'),
  'process/': src('process-global.cjs'),
  stream: pkg('readable-stream/lib/ours/browser.js'),
  'readable-stream': pkg('readable-stream/lib/ours/browser.js'),
  util: pkg('util/util.js'),
  'util/': pkg('util/util.js'),
  buffer: pkg('buffer/index.js'),
  'buffer/': pkg('buffer/index.js'),
  events: pkg('events/events.js'),
  string_decoder: pkg('string_decoder/lib/string_decoder.js'),
  'string_decoder/': pkg('string_decoder/lib/string_decoder.js'),
  crypto: src('crypto.js'),
  path: src('path.js'),
};

const nodeNames = {
  name: 'node-names',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_-]+\/?$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (NODE_NAMES[name]) return { path: NODE_NAMES[name] };
      return undefined;
    });
    b.onResolve({ filter: /^(wasi|lambkin):/ }, (args) => ({ path: args.path, external: true }));
  },
};

const result = await build({
  entryPoints: [src('index.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  mainFields: ['browser', 'module', 'main'],
  target: 'es2022',
  outfile: out,
  plugins: [nodeNames],
  inject: [src('inject.js')],
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
if (process.env.BUNDLE_ANALYZE) {
  const { analyzeMetafile } = await import('esbuild');
  console.log(await analyzeMetafile(result.metafile));
}
