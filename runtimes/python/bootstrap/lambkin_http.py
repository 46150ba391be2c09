"""Outgoing HTTP for Python functions, over wasi:http. The host sends the request (TLS for
https:// included) where the function's egress profile allows; a refused request raises an
error whose message names the rule.

``urllib.request.urlopen`` goes through here (the bootstrap installs ``LambkinHandler``), so
handlers written for Lambda's Python runtime, which has no third-party HTTP client, work
unchanged. ``lambkin_http.request(method, url, headers, body)`` is the direct form.
"""

import email.parser
import http.client
import io
import urllib.error
import urllib.parse
import urllib.request
import urllib.response

try:
    from componentize_py_types import Err
except ImportError:  # componentize-py 0.17
    from wit_world.types import Err
from wit_world.imports import outgoing_handler
from wit_world.imports import streams
from wit_world.imports import wasi_http_types as t

# wasi:http refuses these in a request's fields (the host sets them itself).
_FORBIDDEN = {"host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings"}
_METHODS = {
    "GET": t.Method_Get, "HEAD": t.Method_Head, "POST": t.Method_Post, "PUT": t.Method_Put,
    "DELETE": t.Method_Delete, "CONNECT": t.Method_Connect, "OPTIONS": t.Method_Options,
    "TRACE": t.Method_Trace, "PATCH": t.Method_Patch,
}
# The most wasi:io writes in one call.
_WRITE_CHUNK = 4096


class Response:
    """A response read to its end: ``status``, ``reason``, ``headers`` (an http.client.HTTPMessage)
    and ``body`` (bytes)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.reason = http.client.responses.get(status, "")
        self.headers = headers
        self.body = body

    def json(self):
        import json
        return json.loads(self.body)


def _error_text(code):
    """An error-code variant as words: the host's message for `internal-error` (an egress
    denial says which rule refused it), else the case's name."""
    name = type(code).__name__.removeprefix("ErrorCode_")
    value = getattr(code, "value", None)
    if name == "InternalError" and value:
        return value
    return name if value is None else "%s: %r" % (name, value)


def request(method, url, headers=(), body=b"", timeout=None):
    """Sends one request and reads the whole response. ``headers`` is a mapping or pairs;
    ``timeout`` (seconds) bounds the connect and the wait for the first byte. Raises
    ConnectionError when no response came (refused by the egress policy, DNS, connect, TLS)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http(s) URL: %r" % url)
    pairs = headers.items() if hasattr(headers, "items") else headers
    fields = t.Fields.from_list([
        (name.lower(), value.encode("latin-1") if isinstance(value, str) else bytes(value))
        for name, value in pairs if name.lower() not in _FORBIDDEN
    ])
    outgoing = t.OutgoingRequest(fields)
    upper = method.upper()
    outgoing.set_method(_METHODS[upper]() if upper in _METHODS else t.Method_Other(method))
    outgoing.set_scheme(t.Scheme_Https() if parts.scheme == "https" else t.Scheme_Http())
    outgoing.set_authority(parts.netloc)
    outgoing.set_path_with_query((parts.path or "/") + ("?" + parts.query if parts.query else ""))
    options = None
    if timeout is not None:
        options = t.RequestOptions()
        nanos = int(timeout * 1e9)
        options.set_connect_timeout(nanos)
        options.set_first_byte_timeout(nanos)
    out_body = outgoing.body()
    try:
        future = outgoing_handler.handle(outgoing, options)
    except Err as e:
        raise ConnectionError("%s %s: %s" % (upper, url, _error_text(e.value))) from None
    data = bytes(body or b"")
    with out_body.write() as stream:
        for start in range(0, len(data), _WRITE_CHUNK):
            stream.blocking_write_and_flush(data[start:start + _WRITE_CHUNK])
    t.OutgoingBody.finish(out_body, None)
    with future:
        with future.subscribe() as ready:
            ready.block()
        # option<result<result<incoming-response, error-code>>>: ready, taken once, the answer.
        outcome = future.get()
    if outcome is None or isinstance(outcome, Err):
        raise ConnectionError("%s %s: no response" % (upper, url))
    if isinstance(outcome.value, Err):
        raise ConnectionError("%s %s: %s" % (upper, url, _error_text(outcome.value.value)))
    chunks = []
    with outcome.value.value as incoming:
        status = incoming.status()
        with incoming.headers() as fields:
            header_text = "".join("%s: %s\r\n" % (n, v.decode("latin-1")) for n, v in fields.entries())
        with incoming.consume() as in_body:
            with in_body.stream() as stream:
                while True:
                    try:
                        chunks.append(stream.blocking_read(65536))
                    except Err as e:
                        if isinstance(e.value, streams.StreamError_Closed):
                            break
                        raise ConnectionError("%s %s: the response body failed" % (upper, url)) from None
    message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(header_text)
    return Response(status, message, b"".join(chunks))


class LambkinHandler(urllib.request.BaseHandler):
    """urllib.request's http and https through wasi:http: ahead of the standard handlers, whose
    request preparation (Content-Type, Content-Length) still runs."""

    handler_order = 100

    def http_open(self, req):
        headers = dict(req.header_items())
        timeout = req.timeout if isinstance(req.timeout, (int, float)) else None
        try:
            response = request(req.get_method(), req.full_url, headers, req.data or b"", timeout)
        except ConnectionError as e:
            raise urllib.error.URLError(str(e)) from None
        result = urllib.response.addinfourl(io.BytesIO(response.body), response.headers, req.full_url, response.status)
        result.msg = response.reason
        return result

    https_open = http_open


def install():
    """Makes urlopen() and every default opener use wasi:http."""
    urllib.request.install_opener(urllib.request.build_opener(LambkinHandler))
