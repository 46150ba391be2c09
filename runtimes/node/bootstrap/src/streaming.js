// Response streaming: the `awslambda` global of Lambda's Node runtimes.
//
//   exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => ...)
//
// `responseStream` is a Writable whose every write goes to the host at once through
// lambkin:function/runtime.stream-write. `awslambda.HttpResponseStream.from(stream, prelude)`
// makes it an HTTP response for a RESPONSE_STREAM function URL: before the first byte of body
// (or at the end, if there is none) it writes the prelude as JSON, then eight NUL bytes, as
// Lambda's runtime does.

import { Buffer } from 'buffer';
import { Writable } from 'readable-stream';
import { streamContentType, streamWrite } from './wasi.js';

export const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = new Uint8Array(8);

export function streamifyResponse(handler, options) {
  if (typeof handler !== 'function') throw new TypeError('streamifyResponse expects a function');
  handler[STREAMING] = 'response';
  if (options?.highWaterMark) handler[HIGH_WATER_MARK] = options.highWaterMark;
  return handler;
}

function bytesOf(chunk, encoding) {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding && encoding !== 'buffer' ? encoding : 'utf8');
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array');
}

/** The Writable handed to a streaming handler; `written` counts the bytes sent. */
export class ResponseStream extends Writable {
  constructor(options = {}) {
    super({ highWaterMark: options.highWaterMark ?? 16384, decodeStrings: false });
    this.written = 0;
    this._contentType = 'application/octet-stream';
    this._contentTypeSent = false;
    this._onBeforeFirstWrite = null;
  }

  _send(bytes) {
    if (this._onBeforeFirstWrite) {
      const hook = this._onBeforeFirstWrite;
      this._onBeforeFirstWrite = null;
      hook((b) => this._emitChunk(bytesOf(b)));
    }
    if (bytes.length) this._emitChunk(bytes);
  }

  _emitChunk(bytes) {
    // The type goes out with the first byte, as Lambda's runtime sends it with the response's head.
    if (!this._contentTypeSent) {
      this._contentTypeSent = true;
      streamContentType(this._contentType);
    }
    this.written += bytes.length;
    streamWrite(bytes);
  }

  _write(chunk, encoding, callback) {
    try {
      this._send(bytesOf(chunk, encoding));
      callback();
    } catch (e) {
      callback(e);
    }
  }

  _writev(chunks, callback) {
    try {
      for (const { chunk, encoding } of chunks) this._send(bytesOf(chunk, encoding));
      callback();
    } catch (e) {
      callback(e);
    }
  }

  _final(callback) {
    // A prelude with no body still goes out.
    if (this._onBeforeFirstWrite) this._send(new Uint8Array(0));
    callback();
  }

  setContentType(contentType) {
    this._contentType = String(contentType);
  }

  getContentType() {
    return this._contentType;
  }
}

export class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(PRELUDE_CONTENT_TYPE);
    // JSON text holds no NUL byte, so the delimiter cannot occur inside the prelude.
    const metadata = JSON.stringify(prelude ?? {});
    underlyingStream._onBeforeFirstWrite = (write) => {
      const head = Buffer.from(metadata);
      const both = new Uint8Array(head.length + DELIMITER.length);
      both.set(head, 0);
      write(both);
    };
    return underlyingStream;
  }
}

export const awslambda = {
  streamifyResponse,
  HttpResponseStream,
};

/** Whether `handler` was wrapped by streamifyResponse. */
export function isStreaming(handler) {
  return handler?.[STREAMING] === 'response';
}

export function highWaterMark(handler) {
  return handler?.[HIGH_WATER_MARK];
}
