// The Node built-ins a handler commonly uses, with and without the node: prefix.
import { Buffer } from 'node:buffer';
import { Readable, Writable, Transform, PassThrough, pipeline as pipelineCb } from 'stream';
import { pipeline } from 'node:stream/promises';
import util, { promisify, format, inspect } from 'util';
import EventEmitter, { once } from 'node:events';
import path from 'path';
import { URL, URLSearchParams, fileURLToPath } from 'node:url';
import url from 'url';
import querystring from 'node:querystring';
import crypto, { createHash, randomUUID, randomBytes, createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import timers from 'timers';
import fs from 'node:fs';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import os from 'os';
import assert from 'node:assert';
import { StringDecoder } from 'string_decoder';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function handler(event) {
  const out = {};

  // buffer
  const b = Buffer.from('héllo wörld');
  out.buffer = { hex: b.toString('hex'), base64: b.toString('base64'), length: b.length, global: Buffer === globalThis.Buffer, concat: Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString() };

  // stream: Transform + pipeline (promise and callback forms) + Readable.from + async iteration
  const upper = new Transform({
    transform(chunk, _enc, cb) {
      cb(null, chunk.toString().toUpperCase());
    },
  });
  const collected = [];
  await pipeline(
    Readable.from(['one ', 'two ', 'three']),
    upper,
    new Writable({
      write(chunk, _enc, cb) {
        collected.push(chunk.toString());
        cb();
      },
    }),
  );
  const viaCallback = await promisify(pipelineCb)(Readable.from(['x', 'y']), new PassThrough().on('data', () => {}));
  const iterated = [];
  for await (const chunk of Readable.from([1, 2, 3])) iterated.push(chunk);
  out.stream = { collected, viaCallback: viaCallback === undefined, iterated };

  // util
  const wait = promisify((ms, cb) => setTimeout(() => cb(null, ms), ms));
  out.util = {
    format: format('%s has %d items: %j', 'cart', 3, { a: 1 }),
    inspect: inspect({ nested: { deep: { deeper: { deepest: 1 } } }, list: [1, 2] }),
    promisified: await wait(5),
    isDeepStrictEqual: util.isDeepStrictEqual({ a: [1] }, { a: [1] }),
    types: util.types.isPromise(Promise.resolve()),
  };

  // events
  const em = new EventEmitter();
  const seen = [];
  em.on('tick', (n) => seen.push(n));
  em.emit('tick', 1);
  em.emit('tick', 2);
  setTimeout(() => em.emit('done', 'ok'), 1);
  const [done] = await once(em, 'done');
  out.events = { seen, done, listeners: em.listenerCount('tick') };

  // path
  out.path = { join: path.join('/var/task', 'a', '..', 'b.js'), ext: path.extname('x/y.tar.gz'), here, relative: path.relative('/a/b/c', '/a/d'), parsed: path.parse('/home/u/file.txt') };

  // url and querystring
  const u = new URL('https://example.com:8443/p/a/t/h?query=string&a=1#hash');
  out.url = { host: u.host, searchA: u.searchParams.get('a'), legacy: url.parse('http://user:pw@host.com:8080/p?x=1').auth, params: new URLSearchParams({ q: 'a b' }).toString(), resolved: url.resolve('http://a.com/b/c', '../d') };
  out.querystring = { parse: querystring.parse('a=1&b=2&b=3&c=%20x'), stringify: querystring.stringify({ x: [1, 2], y: 'z w' }) };

  // crypto
  out.crypto = {
    sha256: createHash('sha256').update('abc').digest('hex'),
    md5: crypto.createHash('md5').update('abc').digest('hex'),
    sha1base64: createHash('sha1').update('abc').digest('base64'),
    hmac: createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex'),
    uuid: /^[0-9a-f-]{36}$/.test(randomUUID()),
    randomBytes: randomBytes(16).length,
    randomHex: randomBytes(8).toString('hex').length,
  };

  // timers
  const t0 = Date.now();
  await sleep(20);
  const immediate = await new Promise((r) => timers.setImmediate(() => r('immediate')));
  const interval = await new Promise((r) => {
    let n = 0;
    const h = setInterval(() => {
      if (++n === 3) {
        clearInterval(h);
        r(n);
      }
    }, 2);
  });
  out.timers = { sleptAtLeast20: Date.now() - t0 >= 20, immediate, interval, nextTick: await new Promise((r) => process.nextTick(r, 'tick')) };

  // fs on /tmp (read-write) and the code's own directory (read-only)
  await mkdir('/tmp/demo/sub', { recursive: true });
  await writeFile('/tmp/demo/sub/note.txt', 'kept in /tmp');
  fs.appendFileSync('/tmp/demo/sub/note.txt', '!');
  out.fs = {
    tmp: await readFile('/tmp/demo/sub/note.txt', 'utf8'),
    listing: await readdir('/tmp/demo'),
    ownSource: fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')[0],
    exists: fs.existsSync('/opt/builtins/index.mjs'),
    statIsFile: fs.statSync('/opt/builtins/index.mjs').isFile(),
    readOnly: (() => {
      try {
        fs.writeFileSync('/opt/nope.txt', 'x');
        return 'wrote?!';
      } catch (e) {
        return e.code;
      }
    })(),
    missing: (() => {
      try {
        fs.readFileSync('/etc/passwd');
      } catch (e) {
        return e.code;
      }
    })(),
  };

  // os, assert, string_decoder, process
  assert.deepStrictEqual({ a: 1 }, { a: 1 });
  let assertMessage;
  try {
    assert.strictEqual(1, 2);
  } catch (e) {
    assertMessage = e.code;
  }
  const decoder = new StringDecoder('utf8');
  out.misc = {
    tmpdir: os.tmpdir(),
    platform: os.platform(),
    eol: os.EOL === '\n',
    assert: assertMessage,
    decoder: decoder.write(Buffer.from([0xe2, 0x82])) + decoder.end(Buffer.from([0xac])),
    env: { AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME, GREETING: process.env.GREETING, TZ: process.env.TZ },
    version: process.version,
    cwd: process.cwd(),
    hrtime: process.hrtime.bigint() > 0n,
  };
  return out;
}
