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

Not thread-safe: use one FerryClient per thread.
"""

import base64
import json
import socket
import struct

MAGIC = b"FRRY"
VERSION = 1
RETRYABLE = ("BUSY", "TIMEOUT")


class FerryError(Exception):
    """The broker answered with an error status (or the connection failed)."""

    def __init__(self, status, message, code=None):
        super().__init__("%s: %s%s" % (code or "request", status, (": " + message) if message else ""))
        self.status = status
        self.message = message

    @property
    def retryable(self):
        return self.status in RETRYABLE


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
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        return "utf8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(data).decode("ascii")


def _decode_body(text, encoding):
    if encoding == "base64":
        return base64.b64decode(text)
    if encoding == "utf8":
        return text.encode("utf-8")
    raise FerryError("BAD_RESPONSE", "bodyEncoding: %r (expected: utf8 or base64)" % encoding)


class FerryClient:
    """One connection to a Ferry broker using the JSON codec."""

    def __init__(self, host="127.0.0.1", port=9876, timeout=30.0, max_frame_bytes=16 << 20):
        self.max_frame_bytes = max_frame_bytes
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.next_id = 1
        self._handshake()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    # ---- wire ----

    def _read_exactly(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise FerryError("CONNECTION", "connection closed by the broker")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _handshake(self):
        name = b"json"
        self.sock.sendall(MAGIC + bytes([VERSION, 1, len(name)]) + name)
        head = self._read_exactly(7)
        if head[:4] != MAGIC:
            raise FerryError("BAD_HELLO", "reply magic: %r (expected: b'FRRY')" % head[:4])
        result, length = head[5], head[6]
        text = self._read_exactly(length).decode("ascii")
        if result != 0:
            raise FerryError("REFUSED", "handshake result %d: %s" % (result, text))
        if text != "json":
            raise FerryError("REFUSED", "broker chose codec %r (expected: 'json')" % text)

    def request(self, code, headers=None, messages=None):
        """Sends one request and returns the response dict; raises FerryError on a non-OK status."""
        request_id = self.next_id
        self.next_id = self.next_id % 0x7FFFFFFF + 1
        command = {"kind": "REQUEST", "code": code, "requestId": request_id, "status": "OK", "message": "",
                   "headers": {k: str(v) for k, v in (headers or {}).items()},
                   "messages": messages or [], "bodyEncoding": "utf8", "body": ""}
        payload = json.dumps(command, separators=(",", ":")).encode("utf-8")
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)
        while True:
            (length,) = struct.unpack(">I", self._read_exactly(4))
            if length > self.max_frame_bytes:
                raise FerryError("FRAME_TOO_LARGE", "response frame: %d bytes (expected: <= %d)" % (length, self.max_frame_bytes))
            response = json.loads(self._read_exactly(length).decode("utf-8"))
            if response.get("requestId") == request_id:
                break
            if response.get("requestId") == 0 and response.get("status", "OK") != "OK":
                raise FerryError(response["status"], response.get("message", ""), code)
            # an answer to something else (none expected: one request at a time); skip it
        status = response.get("status", "OK")
        if status != "OK":
            raise FerryError(status, response.get("message", ""), code)
        return response

    # ---- requests ----

    def create_topic(self, topic, queues):
        return int(self.request("CREATE_TOPIC", {"topic": topic, "queues": queues})["headers"]["queues"])

    def describe_topic(self, topic):
        """The topic's queue count, or None if it does not exist."""
        try:
            return int(self.request("DESCRIBE_TOPIC", {"topic": topic})["headers"]["queues"])
        except FerryError as e:
            if e.status == "NOT_FOUND":
                return None
            raise

    def send(self, topic, body, queue_id=-1, keys=(), tags="", properties=None, born_timestamp=0):
        """Stores one message; returns (msg_id, queue_id, queue_offset)."""
        encoding, text = _encode_body(body)
        message = {"topic": topic, "queueId": queue_id, "keys": list(keys), "tags": tags,
                   "properties": dict(properties or {}), "bornTimestamp": born_timestamp,
                   "bodyEncoding": encoding, "body": text}
        h = self.request("SEND", messages=[message])["headers"]
        return h["msgId"], int(h["queueId"]), int(h["queueOffset"])

    def fetch(self, topic, queue_id, offset, max_messages=32, max_bytes=1 << 20, max_wait_ms=0, group=None, tags=None):
        """Messages of one queue from offset on; waits up to max_wait_ms for the first (long poll)."""
        headers = {"topic": topic, "queueId": queue_id, "offset": offset, "maxMessages": max_messages,
                   "maxBytes": max_bytes, "maxWaitMs": max_wait_ms}
        if group:
            headers["group"] = group
        if tags:
            headers["tags"] = tags
        r = self.request("FETCH", headers)
        return FetchResult(r["headers"], [Message(m) for m in r.get("messages", [])])

    def commit(self, group, topic, queue_id, offset):
        """Stores offset (the next one to consume) as the group's position in the queue."""
        self.request("COMMIT_OFFSET", {"group": group, "topic": topic, "queueId": queue_id, "offset": offset})

    def committed_offset(self, group, topic, queue_id):
        """The group's committed offset, or None if it never committed."""
        h = self.request("GET_OFFSET", {"topic": topic, "queueId": queue_id, "group": group})["headers"]
        offset = int(h["offset"])
        return None if offset < 0 else offset
