// `crypto`: hashes and HMACs from create-hash@1.2.0 / create-hmac@1.1.7 (browserify's, on sha.js,
// md5.js and ripemd160: md5, sha1, sha224, sha256, sha384, sha512, rmd160), random bytes and UUIDs
// from the engine's Web Crypto (wasi:random underneath), `webcrypto` / `subtle` as the engine has
// them. Ciphers, key pairs, signatures and KDFs are not provided.

import { Buffer } from 'buffer';
import createHashImpl from 'create-hash';
import createHmacImpl from 'create-hmac';

const web = globalThis.crypto;

const HASHES = ['md5', 'rmd160', 'ripemd160', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

function algorithm(name) {
  const alg = String(name).toLowerCase().replace(/^rsa-/, '').replace(/^sha-/, 'sha');
  if (!HASHES.includes(alg)) {
    const err = new Error(`Digest method not supported: ${name}`);
    err.code = 'ERR_CRYPTO_INVALID_DIGEST';
    throw err;
  }
  return alg;
}

export function createHash(name) {
  return createHashImpl(algorithm(name));
}

export function createHmac(name, key) {
  return createHmacImpl(algorithm(name), typeof key === 'string' ? Buffer.from(key) : key);
}

export function hash(name, data, outputEncoding = 'hex') {
  return createHash(name).update(data).digest(outputEncoding);
}

export function getHashes() {
  return [...HASHES];
}

export function getRandomValues(array) {
  for (let at = 0; at < array.byteLength; at += 65536) {
    const view = new Uint8Array(array.buffer, array.byteOffset + at, Math.min(65536, array.byteLength - at));
    web.getRandomValues(view);
  }
  return array;
}

export function randomBytes(size, callback) {
  const buf = Buffer.alloc(size);
  getRandomValues(buf);
  if (typeof callback === 'function') {
    queueMicrotask(() => callback(null, buf));
    return undefined;
  }
  return buf;
}

export function randomFillSync(buf, offset = 0, size) {
  const view = new Uint8Array(buf.buffer ?? buf, (buf.byteOffset ?? 0) + offset, size ?? (buf.byteLength - offset));
  getRandomValues(view);
  return buf;
}

export function randomFill(buf, offset, size, callback) {
  if (typeof offset === 'function') [offset, callback] = [0, offset];
  else if (typeof size === 'function') [size, callback] = [undefined, size];
  randomFillSync(buf, offset, size);
  queueMicrotask(() => callback(null, buf));
}

export function randomUUID() {
  return web.randomUUID();
}

export function randomInt(min, max, callback) {
  if (max === undefined || typeof max === 'function') [min, max, callback] = [0, min, max];
  const range = max - min;
  if (!Number.isSafeInteger(range) || range <= 0) throw new RangeError('The value of "max" is out of range');
  const limit = 2 ** 48 - (2 ** 48 % range);
  let n;
  do {
    const b = randomBytes(6);
    n = b.readUIntBE(0, 6);
  } while (n >= limit);
  const value = min + (n % range);
  if (typeof callback === 'function') {
    queueMicrotask(() => callback(null, value));
    return undefined;
  }
  return value;
}

export function timingSafeEqual(a, b) {
  if (a.byteLength !== b.byteLength) {
    const err = new RangeError('Input buffers must have the same byte length');
    err.code = 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH';
    throw err;
  }
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

function unsupported(name) {
  return () => {
    const err = new Error(`crypto.${name} is not supported by lambkin's Node.js runtime`);
    err.code = 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM';
    throw err;
  };
}

const crypto = {
  createHash,
  createHmac,
  hash,
  getHashes,
  getRandomValues,
  randomBytes,
  pseudoRandomBytes: randomBytes,
  randomFillSync,
  randomFill,
  randomUUID,
  randomInt,
  timingSafeEqual,
  webcrypto: web,
  subtle: web?.subtle,
  constants: {},
};
for (const name of [
  'createCipheriv',
  'createDecipheriv',
  'createSign',
  'createVerify',
  'generateKeyPair',
  'generateKeyPairSync',
  'createPrivateKey',
  'createPublicKey',
  'createSecretKey',
  'pbkdf2',
  'pbkdf2Sync',
  'scrypt',
  'scryptSync',
  'createECDH',
  'createDiffieHellman',
  'publicEncrypt',
  'privateDecrypt',
]) {
  crypto[name] = unsupported(name);
}

export default crypto;
