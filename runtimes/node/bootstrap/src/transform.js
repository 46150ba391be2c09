// Source rewrites the loader makes before it compiles a file, with sucrase@3.35.1 (bundled):
// - ES modules to the CommonJS form: sucrase's `imports` transform (the one sucrase's CommonJS
//   output uses: `import` of every kind, `export` of every kind incl. re-exports and
//   `export * from`, live bindings through getters, `import()` into a promise of require()).
// - `import(x)` and `import.meta` renamed to the functions the loader passes in.
// Pure functions (no WASI): test/transform.test.mjs runs them under Node.

import { transform } from 'sucrase';
import { parse } from 'sucrase/dist/esm/parser/index.js';
import { TokenType as tt } from 'sucrase/dist/esm/parser/tokenizer/types.js';

export const DYNAMIC_IMPORT = /\bimport\s*\(/;
export const IMPORT_META = /\bimport\s*\.\s*meta\b/;
/** Whether a source that failed to compile as CommonJS may be an ES module (Node 22's detection). */
export const ESM_SYNTAX = /^\s*(import\s*[\w{*'"]|export\s+|export\s*[{*])/m;

export function stripShebang(source) {
  let s = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  if (s.startsWith('#!')) s = '//' + s.slice(2);
  return s;
}

/** `import(x)` and `import.meta` in `source`, found by sucrase's tokenizer (not in strings or
 * comments), renamed to the functions the runtime passes in; the source as it is when it does
 * not tokenize. */
export function renameImportSyntax(source) {
  let tokens;
  try {
    ({ tokens } = parse(source, false, false, false));
  } catch {
    return source;
  }
  let out = '';
  let at = 0;
  const text = (t) => source.slice(t.start, t.end);
  for (let i = 0; i < tokens.length - 1; i++) {
    const next = tokens[i + 1];
    if (tokens[i].type === tt._import && next.type === tt.parenL) {
      out += source.slice(at, tokens[i].start) + '__lambkin_import';
      at = tokens[i].end;
    } else if (
      // The tokenizer reads the `import` of `import.meta` as a name.
      text(tokens[i]) === 'import' &&
      next.type === tt.dot &&
      tokens[i + 2] &&
      text(tokens[i + 2]) === 'meta'
    ) {
      out += source.slice(at, tokens[i].start) + '__lambkin_import_meta';
      at = tokens[i + 2].end;
      i += 2;
    }
  }
  return out + source.slice(at);
}

/** ESM source rewritten into the CommonJS form the loader runs. */
export function esmToCjs(source, filename) {
  let code;
  let text = stripShebang(source);
  if (IMPORT_META.test(text)) text = renameImportSyntax(text);
  try {
    code = transform(text, {
      transforms: ['imports'],
      filePath: filename,
      keepUnusedImports: true,
      preserveDynamicImport: false,
    }).code;
  } catch (e) {
    if (e instanceof SyntaxError || e?.loc) {
      const err = new SyntaxError(String(e.message).replace(/^Error transforming [^:]*: /, ''));
      err.fileName = filename;
      err.lineNumber = e.loc?.line;
      err.columnNumber = e.loc?.column;
      throw err;
    }
    throw e;
  }
  return code;
}

