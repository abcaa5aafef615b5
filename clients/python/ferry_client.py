"""A small Ferry client for Python 3, standard library only, speaking the JSON codec.

The wire protocol is docs/PROTOCOL.md: a handshake (magic "FRRY", version 1, the codecs offered),
then frames of a 4-byte big-endian length and one JSON command. This client sends one request at
a time and waits for its response (matched by request id), which keeps it small; the broker
allows many requests in flight, so a faster client would pipeline.

    from ferry_client import FerryClient
    with FerryClient("127.0.0.1", 9876) as c:
        c.create_topic("orders", 4)
        r = c.send("orders", b"hello", queue_id=0)
        resp = c.fetch("orders", 0, offset=0, max_wait_ms=1000)
        c.commit("billing", "orders", 0, resp.next_offset)

Errors: FerryError for an error status from the broker (the client stays usable);
FerryConnectionError, and its subclass FerryProtocolError for bytes that do not decode, when the
exchange itself failed: the client then closes its connection, since the stream may be cut
mid-frame, and every later request raises FerryConnectionError. Not thread-safe: use one
FerryClient per thread.
"""

import base64
import collections
import json
import socket
import struct

MAGIC = b"FRRY"
VERSION = 1
# PROTOCOL.md's status table: the statuses whose request, sent again unchanged, may succeed
RETRYABLE = ("BUSY", "TIMEOUT", "LOCKED")
# handshake result codes (PROTOCOL.md); 4 TOO_MANY_CONNECTIONS is worth a retry after a pause, the others are not
TOO_MANY_CONNECTIONS = 4


class FerryError(Exception):
    """A request failed. Raised as itself when the broker answered with an error status; the
    subclasses below say the connection failed. status is the broker's status name (or one of the
    client's, below), message its text, code the request code ("FETCH", ...) or "handshake"."""

    def __init__(self, status, message, code=None, headers=None):
        super().__init__("%s: %s%s" % (code or "request", status, (": " + message) if message else ""))
        self.status = status
        self.message = message
        self.code = code
        # the error response's headers: OFFSET_OUT_OF_RANGE carries minOffset and maxOffset to go on from
        self.headers = dict(headers or {})

    @property
    def retryable(self):
        """True if the same request, sent again on this client after a pause, may succeed."""
        return self.status in RETRYABLE


class FerryConnectionError(FerryError):
    """The connection failed, so the client closed it: it could not be opened, the broker refused
    the handshake (status "REFUSED") or closed the connection, a send or receive failed or timed
    out, or the broker reported a connection-level error (request id 0: "BAD_REQUEST",
    "LIMIT_EXCEEDED", "FRAME_TOO_LARGE", after which it closes). status is "CONNECTION" unless the broker gave one.
    The original exception, if any, is __cause__. Every later request on this client raises a
    FerryConnectionError too; open a new FerryClient to go on. The request that failed may or may
    not have been carried out (a SEND may have stored its message)."""

    @property
    def retryable(self):
        return False  # not on this client, which is closed


class FerryRefusedError(FerryConnectionError):
    """The broker refused the handshake (status "REFUSED"). retryable is true, with a new client
    after a pause, when it had too many connections (result 4); a codec or version refusal is not."""

    def __init__(self, status, message, code=None, result=None):
        super().__init__(status, message, code)
        self.result = result

    @property
    def retryable(self):
        return self.result == TOO_MANY_CONNECTIONS


class FerryProtocolError(FerryConnectionError):
    """The broker's bytes did not make sense: a bad handshake reply ("BAD_HELLO"), a frame longer
    than max_frame_bytes ("FRAME_TOO_LARGE"), or a frame that is not a JSON command or lacks a
    field ("BAD_RESPONSE"). The client closed the connection, as for any FerryConnectionError."""


class Message:
    """A message as FETCH returns it: topic, queue_id, queue_offset, msg_id, keys, tags, properties, timestamps, body (bytes)."""

    def __init__(self, d):
        self.topic = d["topic"]
        self.queue_id = d.get("queueId", -1)
        self.queue_offset = d.get("queueOffset", -1)
        self.msg_id = d.get("msgId", "")
        self.keys = d.get("keys", [])
        self.tags = d.get("tags", "")
        self.properties = d.get("properties", {})
        self.born_timestamp = d.get("bornTimestamp", 0)
        self.store_timestamp = d.get("storeTimestamp", 0)
        self.body = _decode_body(d.get("body", ""), d.get("bodyEncoding", "utf8"))

    def __repr__(self):
        return "Message(%s/%d@%d, %d bytes)" % (self.topic, self.queue_id, self.queue_offset, len(self.body))


class FetchResult:
    """A FETCH response: messages, next_offset (where to fetch next), min_offset, max_offset."""

    def __init__(self, headers, messages):
        self.messages = messages
        self.next_offset = int(headers["nextOffset"])
        self.min_offset = int(headers["minOffset"])
        self.max_offset = int(headers["maxOffset"])


def _encode_body(data):
    """("utf8", text) when data is valid UTF-8 whose JSON string is at most 1.5 times its size (or
    base64's, for short bodies), else ("base64", text): PROTOCOL.md's rule. A body of control
    characters, six characters each as JSON text, goes as base64 (as text, 3 MiB of them made a
    frame over the broker's 16 MiB)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    encoded = base64.b64encode(data).decode("ascii")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", encoded
    if len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2 <= max(len(data) * 3 // 2, len(encoded)):
        return "utf8", text
    return "base64", encoded


def _check_text(field, value):
    """value must be a str that UTF-8 can carry (no lone surrogate): else ValueError/TypeError, before anything is sent."""
    if not isinstance(value, str):
        raise TypeError("%s: %r (expected: a string)" % (field, value))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("%s: unpaired surrogate at char %d (expected: text UTF-8 can carry)" % (field, e.start)) from None
    return value


def _check_int(field, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s: %r (expected: an int)" % (field, value))
    return value


def _decode_body(text, encoding):
    if encoding == "base64":
        return base64.b64decode(text, validate=True)
    if encoding == "utf8":
        return text.encode("utf-8")
    raise ValueError("bodyEncoding: %r (expected: utf8 or base64)" % encoding)


class FerryClient:
    """One connection to a Ferry broker using the JSON codec.

    timeout is the longest wait, in seconds, for the broker at any one time: to connect, to send,
    for the next bytes of a response (None: wait forever). A request that lets the broker hold its
    answer (a FETCH's maxWaitMs, the long poll) adds that wait to it, so a long poll ends on the
    broker, never on the client first. A failed connection is closed, not repaired: see
    FerryConnectionError.
    """

    def __init__(self, host="127.0.0.1", port=9876, timeout=30.0, max_frame_bytes=16 << 20):
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout: %r (expected: seconds > 0, or None)" % (timeout,))
        self.host = host
        self.port = port
        self.timeout = timeout
        self.max_frame_bytes = max_frame_bytes
        self.next_id = 1
        # one-way commands the broker sent (CHECK_TRANSACTION): never answers to a request; see take_oneways()
        self.oneways = collections.deque(maxlen=1000)
        self._closed = False
        self._broken_by = None  # the FerryConnectionError that closed the connection, if one did
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise FerryConnectionError("CONNECTION", "cannot connect to %s:%s: %s" % (host, port, e), "handshake") from e
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._handshake()
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Closes the connection; later requests raise FerryConnectionError. Closing twice is fine."""
        self._closed = True
        self.sock.close()

    # ---- wire ----

    def _peer(self):
        return "%s:%s" % (self.host, self.port)

    def _send_all(self, data, what, code):
        try:
            self.sock.sendall(data)
        except socket.timeout as e:
            raise FerryConnectionError("CONNECTION", "%s (%d bytes): %s took none for %s s"
                                       % (what, len(data), self._peer(), self.sock.gettimeout()), code) from e
        except OSError as e:
            raise FerryConnectionError("CONNECTION", "%s (%d bytes) to %s: %s" % (what, len(data), self._peer(), e), code) from e

    def _read_exactly(self, n, what, code):
        data = bytearray()
        while len(data) < n:
            try:
                chunk = self.sock.recv(min(n - len(data), 1 << 20))
            except socket.timeout as e:
                raise FerryConnectionError("CONNECTION", "%s: %d of %d bytes read, then nothing from %s for %s s"
                                           % (what, len(data), n, self._peer(), self.sock.gettimeout()), code) from e
            except OSError as e:
                raise FerryConnectionError("CONNECTION", "%s: %d of %d bytes read, then %s"
                                           % (what, len(data), n, e), code) from e
            if not chunk:
                raise FerryConnectionError("CONNECTION", "%s: %d of %d bytes read, then %s closed the connection"
                                           % (what, len(data), n, self._peer()), code)
            data += chunk
        return bytes(data)

    def _handshake(self):
        code = "handshake"
        name = b"json"
        self._send_all(MAGIC + bytes([VERSION, 1, len(name)]) + name, "hello", code)
        head = self._read_exactly(7, "handshake reply", code)
        if head[:4] != MAGIC:
            raise FerryProtocolError("BAD_HELLO", "reply magic: %r (expected: b'FRRY')" % head[:4], code)
        result, length = head[5], head[6]
        text = self._read_exactly(length, "handshake reply text", code).decode("ascii", "replace")
        if result != 0:
            raise FerryRefusedError("REFUSED", "handshake result %d: %s" % (result, text), code, result)
        if text != "json":
            raise FerryProtocolError("BAD_HELLO", "broker chose codec %r (expected: 'json')" % text, code)

    def _read_command(self, code):
        """The next frame's command, as a dict."""
        (length,) = struct.unpack(">I", self._read_exactly(4, "response frame length", code))
        if length > self.max_frame_bytes:
            raise FerryProtocolError("FRAME_TOO_LARGE", "response frame: %d bytes (expected: <= %d)"
                                     % (length, self.max_frame_bytes), code)
        payload = self._read_exactly(length, "response frame", code)
        try:
            command = json.loads(payload.decode("utf-8"))
        except ValueError as e:  # UnicodeDecodeError and json.JSONDecodeError both are
            raise FerryProtocolError("BAD_RESPONSE", "response frame (%d bytes) is not UTF-8 JSON: %s"
                                     % (length, e), code) from e
        if not isinstance(command, dict):
            raise FerryProtocolError("BAD_RESPONSE", "response frame: a JSON %s (expected: an object)"
                                     % type(command).__name__, code)
        return command

    def _fail(self, error):
        """Closes the connection because of error (a FerryConnectionError) and returns error."""
        if self._broken_by is None:
            self._broken_by = error
        self.close()
        return error

    def _check_open(self, code):
        if self._broken_by is not None:
            raise FerryConnectionError("CONNECTION", "connection closed after an earlier error (%s); open a new FerryClient"
                                       % self._broken_by, code) from self._broken_by
        if self._closed:
            raise FerryConnectionError("CONNECTION", "client closed", code)

    def request(self, code, headers=None, messages=None):
        """Sends one request and returns the response dict.

        Raises FerryError on a non-OK status, FerryConnectionError (closing this client) when the
        exchange failed; a maxWaitMs header extends the timeout for this request by that much.
        """
        self._check_open(code)
        headers = {k: str(v) for k, v in (headers or {}).items()}
        wait_s = max(int(headers.get("maxWaitMs", 0)), 0) / 1000.0
        request_id = self.next_id
        self.next_id = self.next_id % 0x7FFFFFFF + 1
        command = {"kind": "REQUEST", "code": code, "requestId": request_id, "status": "OK", "message": "",
                   "headers": headers, "messages": messages or [], "bodyEncoding": "utf8", "body": ""}
        try:
            payload = json.dumps(command, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError("%s: unpaired surrogate in the request (expected: text UTF-8 can carry): %s" % (code, e)) from None
        if len(payload) > self.max_frame_bytes:
            # the broker would answer FRAME_TOO_LARGE and close the connection, the answer often lost in the reset
            raise ValueError("%s: request frame of %d bytes (expected: <= max_frame_bytes %d)"
                             % (code, len(payload), self.max_frame_bytes))
        # From the first byte sent to the last byte of the response read, the stream is mid-exchange:
        # any failure in between leaves it out of step (half a frame sent or read), so it is closed.
        try:
            self.sock.settimeout(None if self.timeout is None else self.timeout + wait_s)
            self._send_all(struct.pack(">I", len(payload)) + payload, "request frame", code)
            while True:
                response = self._read_command(code)
                if response.get("kind", "RESPONSE") != "RESPONSE":
                    # a one-way command (CHECK_TRANSACTION), numbered by the broker in the same range as the requests:
                    # matched by id alone, it was taken for the answer, and every later answer was one behind
                    self.oneways.append(response)
                    continue
                if response.get("requestId") == request_id:
                    break
                if response.get("requestId") == 0 and response.get("status", "OK") != "OK":
                    # a connection-level error: the broker closes the connection after it
                    raise FerryConnectionError(response["status"], response.get("message", ""), code)
                # an answer to something else (none expected: one request at a time); skip it
            self.sock.settimeout(self.timeout)
        except FerryConnectionError as e:
            self._fail(e)
            raise
        except BaseException as e:  # e.g. KeyboardInterrupt mid-read
            self._fail(FerryConnectionError("CONNECTION", "interrupted mid-request by %r" % (e,), code))
            raise
        status = response.get("status", "OK")
        if status != "OK":
            raise FerryError(status, response.get("message", ""), code, response.get("headers"))
        return response

    def take_oneways(self):
        """The one-way commands the broker sent since the last call (CHECK_TRANSACTION, as dicts),
        oldest first; they arrive while a request waits for its answer. At most the last 1,000 are kept."""
        out = list(self.oneways)
        self.oneways.clear()
        return out

    def _decode(self, code, response, decode):
        """decode(response); a response it cannot decode is a FerryProtocolError and closes the connection."""
        try:
            return decode(response)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            what = "missing field %s" % e if isinstance(e, KeyError) else "%s: %s" % (type(e).__name__, e)
            raise self._fail(FerryProtocolError("BAD_RESPONSE", "undecodable response: " + what, code)) from e

    # ---- requests ----

    def create_topic(self, topic, queues):
        r = self.request("CREATE_TOPIC", {"topic": topic, "queues": queues})
        return self._decode("CREATE_TOPIC", r, lambda r: int(r["headers"]["queues"]))

    def describe_topic(self, topic):
        """The topic's queue count, or None if it does not exist."""
        try:
            r = self.request("DESCRIBE_TOPIC", {"topic": topic})
        except FerryError as e:
            if e.status == "NOT_FOUND":
                return None
            raise
        return self._decode("DESCRIBE_TOPIC", r, lambda r: int(r["headers"]["queues"]))

    def send(self, topic, body, queue_id=-1, keys=(), tags="", properties=None, born_timestamp=0):
        """Stores one message; returns (msg_id, queue_id, queue_offset). Bad arguments (a key or property
        that is not a string, a timestamp that is not an int, text UTF-8 cannot carry) raise
        TypeError/ValueError before anything is sent: the broker would close the connection on them."""
        if isinstance(keys, str):
            raise TypeError("keys: %r (expected: a list of strings, not a string)" % (keys,))
        keys = [_check_text("key", k) for k in keys]
        properties = {_check_text("property key", k): _check_text("value of %r" % (k,), v) for k, v in dict(properties or {}).items()}
        encoding, text = _encode_body(body)
        message = {"topic": _check_text("topic", topic), "queueId": _check_int("queue_id", queue_id), "keys": keys,
                   "tags": _check_text("tags", tags), "properties": properties,
                   "bornTimestamp": _check_int("born_timestamp", born_timestamp), "bodyEncoding": encoding, "body": text}
        r = self.request("SEND", messages=[message])
        return self._decode("SEND", r, lambda r: (r["headers"]["msgId"], int(r["headers"]["queueId"]),
                                                  int(r["headers"]["queueOffset"])))

    def fetch(self, topic, queue_id, offset, max_messages=32, max_bytes=1 << 20, max_wait_ms=0, group=None, tags=None):
        """Messages of one queue from offset on; waits up to max_wait_ms for the first (long poll).
        group is sent as the FETCH's group header, which the broker ignores without a group member's
        clientId (this client sends none: it does not join groups): commit with commit()."""
        headers = {"topic": topic, "queueId": queue_id, "offset": offset, "maxMessages": max_messages,
                   "maxBytes": max_bytes, "maxWaitMs": max_wait_ms}
        if group:
            headers["group"] = group
        if tags:
            headers["tags"] = tags
        r = self.request("FETCH", headers)
        return self._decode("FETCH", r, lambda r: FetchResult(r["headers"], [Message(m) for m in r.get("messages", [])]))

    def commit(self, group, topic, queue_id, offset):
        """Stores offset (the next one to consume) as the group's position in the queue."""
        self.request("COMMIT_OFFSET", {"group": group, "topic": topic, "queueId": queue_id, "offset": offset})

    def committed_offset(self, group, topic, queue_id):
        """The group's committed offset, or None if it never committed."""
        r = self.request("GET_OFFSET", {"topic": topic, "queueId": queue_id, "group": group})
        offset = self._decode("GET_OFFSET", r, lambda r: int(r["headers"]["offset"]))
        return None if offset < 0 else offset
