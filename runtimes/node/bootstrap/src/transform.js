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


// The fast path: es-module-lexer@1.7.0 (its asm.js build: one pass over the source, ~7x faster
// than sucrase in StarlingMonkey's interpreter) finds the import and export statements, and they
// are rewritten in place. It takes the module shapes handlers and npm packages are made of:
//   import d, { a, b as c } from 'm' / import * as ns from 'm' / import 'm'
//   export const|let|var x = ... (one declarator) / export [async] function[*] f / export class K
//   export default <declaration or expression> / export { a, b as c } / export ... from 'm'
//   import(x) / import.meta
// and gives up (null: the loader uses sucrase) on anything else: several declarators or
// destructuring in one export, string names, import attributes, source phase imports, or a
// source the lexer rejects. Differences from sucrase's output, by design: imported bindings are
// read once, when the import runs (Node's own semantics for CommonJS modules; for ES modules the
// loader takes sucrase when the exporter has `let`/`var` exports or the import is part of a
// cycle), and imports are hoisted to the top of the module.

import { parse as lexModule } from 'es-module-lexer/js';

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** ESM source rewritten for the loader: {code, deps: [{specifier, bindings}], mutable}, or null. */
export function fastEsmToCjs(source) {
  const text = stripShebang(source);
  let imports;
  let exports;
  try {
    [imports, exports] = lexModule(text);
  } catch {
    return null;
  }
  const edits = [];
  // The module's own code may declare `require` or `exports` (ES modules have neither): the
  // rewrite uses names of its own, and the loader runs the module inside a block.
  const header = ['"use strict";', 'Object.defineProperty(__lambkin_exports, "__esModule", { value: true });'];
  const requires = [];
  const getters = [];
  const deps = [];
  const reexports = [];
  let mutable = false;
  let n = 0;

  for (const imp of imports) {
    if (imp.t === 2) {
      edits.push([imp.ss, imp.ss + 6, '__lambkin_import']);
      continue;
    }
    if (imp.t === 3) {
      edits.push([imp.s, imp.e, '__lambkin_import_meta']);
      continue;
    }
    if (imp.t !== 1 || imp.n === undefined || imp.a !== -1) return null;
    const stmt = text.slice(imp.ss, imp.se);
    const v = `__lambkin_m${n++}`;
    requires.push(`const ${v} = __lambkin_require(${JSON.stringify(imp.n)});`);
    edits.push([imp.ss, imp.se, '']);
    if (stmt.startsWith('export')) {
      reexports.push([imp.ss, imp.se]);
      deps.push({ specifier: imp.n, bindings: false });
      const m = /^export\s*(?:\*\s*(?:as\s+([A-Za-z_$][\w$]*)\s*)?|\{([^}]*)\})\s*from\s*['"]/.exec(stmt);
      if (!m) return null;
      if (m[2] !== undefined) {
        for (const part of m[2].split(',').map((s) => s.trim()).filter(Boolean)) {
          const pm = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(part);
          if (!pm) return null;
          const [, local, exported = local] = pm;
          getters.push([exported, local === 'default' ? `__lambkin.def(${v})` : `__lambkin.ns(${v})[${JSON.stringify(local)}]`]);
        }
      } else if (m[1]) {
        getters.push([m[1], `__lambkin.ns(${v})`]);
      } else {
        requires.push(`__lambkin.star(__lambkin_exports, ${v});`);
      }
      continue;
    }
    if (/^import\s*['"]/.test(stmt)) {
      deps.push({ specifier: imp.n, bindings: false });
      continue;
    }
    const m = /^import\s+([\s\S]*?)\s*from\s*['"]$/.exec(text.slice(imp.ss, imp.s));
    if (!m) return null;
    let clause = m[1].trim();
    const dm = /^([A-Za-z_$][\w$]*)\s*(?:,\s*([\s\S]*))?$/.exec(clause);
    if (dm && dm[1] !== 'type') {
      requires.push(`const ${dm[1]} = __lambkin.def(${v});`);
      clause = (dm[2] ?? '').trim();
    }
    if (clause.startsWith('*')) {
      const nm = /^\*\s*as\s+([A-Za-z_$][\w$]*)$/.exec(clause);
      if (!nm) return null;
      requires.push(`const ${nm[1]} = __lambkin.ns(${v});`);
    } else if (clause.startsWith('{')) {
      const lm = /^\{([^}]*)\}$/.exec(clause);
      if (!lm) return null;
      const props = [];
      for (const part of lm[1].split(',').map((s) => s.trim()).filter(Boolean)) {
        const pm = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(part);
        if (!pm) return null;
        props.push(pm[2] ? `${pm[1]}: ${pm[2]}` : pm[1]);
      }
      if (props.length) requires.push(`const { ${props.join(', ')} } = __lambkin.ns(${v});`);
    } else if (clause !== '') {
      return null;
    }
    deps.push({ specifier: imp.n, bindings: true });
  }

  const lists = new Set();
  for (const ex of exports) {
    if (reexports.some(([s, e]) => ex.s >= s && ex.s < e)) continue;
    if (!IDENT.test(ex.n)) return null;
    const before = text.slice(Math.max(0, ex.s - 120), ex.s);
    const word = text.slice(ex.s, ex.e);
    let m;
    if (ex.n === 'default' && word === 'default' && (m = /export\s*$/.exec(before))) {
      const start = ex.s - m[0].length;
      const rest = text.slice(ex.e);
      const fm = /^(\s*)(async\s+)?function\b(\s*\*)?(\s*)([A-Za-z_$][\w$]*)?/.exec(rest);
      const cm = /^(\s*)class\b(\s*)([A-Za-z_$][\w$]*)?/.exec(rest);
      if (fm) {
        if (fm[5]) {
          edits.push([start, ex.e, '']);
          getters.push(['default', fm[5]]);
        } else {
          edits.push([start, ex.e + fm[0].length, `${fm[2] ?? ''}function${fm[3] ? '*' : ''} __lambkin_default`]);
          getters.push(['default', '__lambkin_default']);
        }
      } else if (cm) {
        if (cm[3] && cm[3] !== 'extends') {
          edits.push([start, ex.e, '']);
          getters.push(['default', cm[3]]);
        } else {
          edits.push([start, ex.e + cm[0].length, `class __lambkin_default${cm[3] ? ' extends' : ''}`]);
          getters.push(['default', '__lambkin_default']);
        }
      } else {
        edits.push([start, ex.e, '__lambkin_exports.default =']);
      }
      continue;
    }
    if (!IDENT.test(ex.ln ?? '')) return null;
    if ((m = /export(\s+)(?:(?:async\s+)?function\s*\*?|class)\s+$/.exec(before)) && ex.ls === ex.s) {
      edits.push([ex.s - m[0].length, ex.s - m[0].length + 6, '']);
      getters.push([ex.n, ex.ln]);
      continue;
    }
    if ((m = /export(\s+)(const|let|var)\s+$/.exec(before)) && ex.ls === ex.s) {
      if (!singleDeclarator(text, ex.le)) return null;
      edits.push([ex.s - m[0].length, ex.s - m[0].length + 6, '']);
      getters.push([ex.n, ex.ln]);
      if (m[2] !== 'const' && reassigned(text, ex.ln)) mutable = true;
      continue;
    }
    if ((m = /export\s*\{[^}]*$/.exec(before))) {
      const start = ex.s - m[0].length;
      if (!lists.has(start)) {
        const close = text.indexOf('}', ex.s);
        if (close < 0) return null;
        lists.add(start);
        edits.push([start, close + 1, '']);
      }
      getters.push([ex.n, ex.ln]);
      if (new RegExp(`\\b(?:let|var)\\b[^;]*\\b${escapeName(ex.ln)}\\b`).test(text) && reassigned(text, ex.ln)) mutable = true;
      continue;
    }
    return null;
  }

  // `export {};` (TypeScript writes it for a module without exports) names nothing to the lexer.
  for (const m of text.matchAll(/(^|[;\n}])([ \t]*)export\s*\{\s*\}\s*;?/g)) {
    const start = m.index + m[1].length + m[2].length;
    edits.push([start, m.index + m[0].length, '']);
  }
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [s, e, replacement] of edits) {
    if (s < at) return null;
    const removed = text.slice(s, e);
    out += text.slice(at, s) + replacement + '\n'.repeat((removed.match(/\n/g) || []).length);
    at = e;
  }
  out += text.slice(at);
  // Anything still looking like an export or import statement was not understood.
  if (/(^|[;\n}])\s*(export\s*[{*]|export\s+(default|const|let|var|function|class|async)\b|import\s*[\w{*'"])/.test(out)) return null;
  const exportsCode = getters.map(([name, expr]) => `__lambkin.get(__lambkin_exports, ${JSON.stringify(name)}, () => ${expr});`);
  // One line, so that the module's own lines keep their numbers.
  return { code: [...header, ...exportsCode, ...requires].join(' ') + ' ' + out, deps, mutable };
}

function escapeName(name) {
  return name.replace(/\$/g, '\\$');
}

/** Whether `name` is assigned (=, op=, ++, --) in `text` other than where it is declared: a
 * `let` export that is may change under an importer's feet. */
function reassigned(text, name) {
  const n = escapeName(name);
  const declarations = new RegExp(`\\b(?:let|var)\\s+${n}\\s*=(?![=>])`).test(text) ? 1 : 0;
  const assign = new RegExp(`(?<![\\w$.])${n}\\s*(?:=(?![=>])|[-+*/%&|^]=|\\*\\*=|<<=|>>>?=|&&=|\\|\\|=|\\?\\?=|\\+\\+|--)`, 'g');
  const prefix = new RegExp(`(?:\\+\\+|--)\\s*${n}(?![\\w$])`);
  return (text.match(assign) || []).length > declarations || prefix.test(text);
}

const STATEMENT_START = /^(export|import|const|let|var|function|class|async|if|for|while|do|return|try|switch|throw|break|continue|[A-Za-z_$][\w$]*\s*[=(.:]|[A-Za-z_$][\w$]*\s*$|}|$)/;
const REGEX_AFTER = new Set(['(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^', '']);
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

/** Whether the declaration whose first name ends at `p` has just one declarator: a scan to the
 * statement's end that skips strings, templates, comments, regular expressions and brackets and
 * fails on a comma at depth 0 (or anything it cannot follow). */
export function singleDeclarator(src, p) {
  let depth = 0;
  const templates = []; // depths at which a template's ${ was opened
  let prev = ''; // last significant character
  let word = ''; // last word
  const len = src.length;
  const skipTemplate = () => {
    // At a template's characters; returns false on an unterminated template.
    while (p < len) {
      const c = src[p];
      if (c === '\\') p += 2;
      else if (c === '`') {
        p++;
        prev = '`';
        return true;
      } else if (c === '$' && src[p + 1] === '{') {
        templates.push(depth);
        depth++;
        p += 2;
        prev = '{';
        return true;
      } else p++;
    }
    return false;
  };
  while (p < len) {
    const c = src[p];
    if (c === ' ' || c === '\t' || c === '\r') {
      p++;
      continue;
    }
    if (c === '\n') {
      p++;
      if (depth === 0 && !/[=,+\-*/%&|^!?:<>~.([{]$/.test(prev)) {
        const next = src.slice(p, p + 80).replace(/^\s+/, '');
        if (next.startsWith('//') || next.startsWith('/*')) continue;
        if (STATEMENT_START.test(next)) return true;
      }
      continue;
    }
    if (c === '/' && src[p + 1] === '/') {
      const nl = src.indexOf('\n', p);
      p = nl < 0 ? len : nl;
      continue;
    }
    if (c === '/' && src[p + 1] === '*') {
      const end = src.indexOf('*/', p + 2);
      if (end < 0) return false;
      p = end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      p++;
      while (p < len && src[p] !== c) {
        if (src[p] === '\\') p++;
        else if (src[p] === '\n') return false;
        p++;
      }
      if (p >= len) return false;
      p++;
      prev = c;
      word = '';
      continue;
    }
    if (c === '`') {
      p++;
      if (!skipTemplate()) return false;
      word = '';
      continue;
    }
    if (c === '/') {
      if (REGEX_AFTER.has(prev) || REGEX_AFTER_WORD.has(word)) {
        p++;
        let inClass = false;
        while (p < len) {
          const r = src[p];
          if (r === '\\') p++;
          else if (r === '\n') return false;
          else if (inClass) inClass = r !== ']';
          else if (r === '[') inClass = true;
          else if (r === '/') break;
          p++;
        }
        p++;
        while (p < len && /[a-z]/i.test(src[p])) p++;
        prev = 'r';
        word = '';
        continue;
      }
      p++;
      prev = '/';
      word = '';
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) return true;
      depth--;
      if (c === '}' && templates.length && templates[templates.length - 1] === depth) {
        templates.pop();
        p++;
        if (!skipTemplate()) return false;
        word = '';
        continue;
      }
    } else if (depth === 0 && c === ';') return true;
    else if (depth === 0 && c === ',') return false;
    if (/[\w$]/.test(c)) {
      let e = p;
      while (e < len && /[\w$]/.test(src[e])) e++;
      word = src.slice(p, e);
      prev = 'w';
      p = e;
      continue;
    }
    prev = c;
    word = '';
    p++;
  }
  return depth === 0 && templates.length === 0;
}
