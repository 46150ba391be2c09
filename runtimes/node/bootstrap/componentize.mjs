// Runs componentize-js (StarlingMonkey + wizer) on the runtime's bundle against wit/world.wit's
// node-runtime world, with one repair to the JavaScript bindings it generates.
//
// componentize-js 0.23 emits no class for a resource without methods whose values cross
// interfaces (wasi:sockets' `network`, returned by instance-network and borrowed by tcp and
// ip-name-lookup), yet the bindings create its values from that class: the first
// instance-network() fails with "import_network_0_2_11$Network is not defined". The repair
// declares each such class, with the drop that the bindings give every resource.
//
// Usage: node componentize.mjs <bundle.js> <out.wasm>

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentize } from '@bytecodealliance/componentize-js';
import { splicer } from './node_modules/@bytecodealliance/componentize-js/lib/spidermonkey-embedding-splicer.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const [bundle, out] = process.argv.slice(2);
if (!bundle || !out) throw new Error('usage: node componentize.mjs <bundle.js> <out.wasm>');

/** Declares the resource classes the bindings use but do not define. */
export function declareMissingResourceClasses(js) {
  const anchor = js.match(/^const symbolDispose = .*$/m);
  if (!anchor) throw new Error('componentize-js bindings: no symbolDispose declaration to anchor on');
  const used = new Set([...js.matchAll(/Object\.create\((import_[\w$]+)\.prototype\)/g)].map((m) => m[1]));
  const classes = [];
  for (const name of used) {
    if (new RegExp(`\\bclass ${name.replace(/\$/g, '\\$')}\\b`).test(js)) continue;
    const parts = name.match(/^import_(\w+?)\$(\w+)$/);
    if (!parts) throw new Error(`componentize-js bindings: unexpected resource class name ${name}`);
    const [, iface, Resource] = parts;
    const resource = Resource[0].toLowerCase() + Resource.slice(1);
    const registry = `finalizationRegistry_import$${iface}$${resource}`;
    const drop = `$resource_import$${iface}$drop$${resource}`;
    for (const needed of [registry, drop]) {
      if (!js.includes(needed)) throw new Error(`componentize-js bindings: ${name} has no ${needed}`);
    }
    classes.push(
      `class ${name} {\n` +
        `  [symbolDispose]() {\n` +
        `    ${registry}.unregister(this);\n` +
        `    ${drop}(this[symbolRscHandle]);\n` +
        `    this[symbolRscHandle] = undefined;\n` +
        `  }\n` +
        `}\n`,
    );
  }
  if (!classes.length) return js;
  const at = anchor.index + anchor[0].length + 1;
  return js.slice(0, at) + classes.join('') + js.slice(at);
}

const spliceBindings = splicer.spliceBindings;
splicer.spliceBindings = (...args) => {
  const spliced = spliceBindings(...args);
  spliced.jsBindings = declareMissingResourceClasses(spliced.jsBindings);
  return spliced;
};

const { component } = await componentize({
  sourcePath: bundle,
  witPath: path.join(here, 'wit'),
  worldName: 'node-runtime',
  // Functions are not HTTP servers: StarlingMonkey's incoming handler is left out.
  disableFeatures: ['fetch-event'],
});
await writeFile(out, component);
