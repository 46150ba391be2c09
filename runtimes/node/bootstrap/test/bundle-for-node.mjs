// Bundles a runtime source file for Node (the tests), with WASI-bound modules swapped for
// Node-backed stand-ins: wasi.js reads a directory tree of the host mapped at `/`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function bundleForNode(entry, { stubs = {} } = {}) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lambkin-node-test-'));
  const outfile = path.join(out, path.basename(entry).replace(/\.js$/, '.mjs'));
  await build({
    entryPoints: [path.join(here, '..', 'src', entry)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile,
    logLevel: 'error',
    plugins: [
      {
        name: 'stubs',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            const base = path.basename(args.path);
            if (stubs[base] && args.importer.includes(`${path.sep}src${path.sep}`)) return { path: stubs[base] };
            return undefined;
          });
        },
      },
    ],
  });
  return import(outfile);
}
