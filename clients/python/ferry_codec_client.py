"""A small Ferry client for Python 3 over the protobuf or the Hessian codec, standard library only.

ferry_client.py speaks JSON; this one takes a codec module (ferry_protobuf or ferry_hessian,
each an encode/decode pair written by hand from docs/PROTOCOL.md) and does the rest the same
way: the handshake, frames of a 4-byte big-endian length, one request at a time matched by id.

    import ferry_protobuf
    from ferry_codec_client import CodecClient
    with CodecClient(ferry_protobuf, "127.0.0.1", 9876) as c:
        c.create_topic("orders", 4)
        msg_id, queue, offset = c.send("orders", b"hello", properties=[("region", "eu")])
        fetched = c.fetch("orders", queue, offset)

A command is a dict: kind, code and status by name, request_id, message, headers (a list of
(key, value) pairs, values as text), messages (dicts with topic, queue_id, queue_offset, msg_id,
keys, tags, properties as pairs, born_timestamp, store_timestamp, deliver_at, flags, body) and
body (bytes). Errors are ferry_client's: FerryError for an error status (the client stays
usable), FerryConnectionError when the exchange failed or the broker answered a connection-level
error (request id 0); the client is then closed. Not thread-safe.
"""

import socket
import struct

from ferry_client import FerryConnectionError, FerryError, FerryProtocolError, FerryRefusedError, MAGIC, VERSION


class CodecClient:
    def __init__(self, codec, host="127.0.0.1", port=9876, timeout=30.0, max_frame_bytes=16 << 20):
        self.codec = codec
        self.max_frame_bytes = max_frame_bytes
        self.next_id = 1
        self.oneways = []
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise FerryConnectionError("CONNECTION", "cannot connect to %s:%s: %s" % (host, port, e), "handshake") from e
        try:
            self._handshake()
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def _read_exactly(self, n, what):
        data = bytearray()
        while len(data) < n:
            try:
                chunk = self.sock.recv(min(n - len(data), 1 << 20))
            except OSError as e:
                raise FerryConnectionError("CONNECTION", "%s: %d of %d bytes read, then %s" % (what, len(data), n, e)) from e
            if not chunk:
                raise FerryConnectionError("CONNECTION", "%s: %d of %d bytes read, then the broker closed the connection"
                                           % (what, len(data), n))
            data += chunk
        return bytes(data)

    def _handshake(self):
        name = self.codec.NAME.encode("ascii")
        self.sock.sendall(MAGIC + bytes([VERSION, 1, len(name)]) + name)
        head = self._read_exactly(7, "handshake reply")
        if head[:4] != MAGIC:
            raise FerryProtocolError("BAD_HELLO", "reply magic: %r (expected: b'FRRY')" % head[:4], "handshake")
        text = self._read_exactly(head[6], "handshake reply text").decode("ascii", "replace")
        if head[5] != 0:
            raise FerryRefusedError("REFUSED", "handshake result %d: %s" % (head[5], text), "handshake", head[5])
        if text != self.codec.NAME:
            raise FerryProtocolError("BAD_HELLO", "broker chose %r (expected: %r)" % (text, self.codec.NAME), "handshake")

    def send_frame(self, payload):
        """Sends one frame of payload as it is (a test may send anything)."""
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def read_command(self):
        (length,) = struct.unpack(">I", self._read_exactly(4, "frame length"))
        if length > self.max_frame_bytes:
            raise FerryProtocolError("FRAME_TOO_LARGE", "frame: %d bytes (expected: <= %d)" % (length, self.max_frame_bytes))
        payload = self._read_exactly(length, "frame")
        try:
            return self.codec.decode(payload)
        except (ValueError, KeyError, TypeError) as e:
            raise FerryProtocolError("BAD_RESPONSE", "undecodable %s frame (%d bytes): %r" % (self.codec.NAME, length, e)) from e

    def request(self, code, headers=(), messages=()):
        """Sends one request and returns its response; FerryError on an error status."""
        request_id = self.next_id
        self.next_id = self.next_id % 0x7FFFFFFF + 1
        command = {"kind": "REQUEST", "code": code, "request_id": request_id, "status": "OK", "message": "",
                   "headers": [(k, str(v)) for k, v in headers], "messages": list(messages), "body": b""}
        self.send_frame(self.codec.encode(command))
        while True:
            response = self.read_command()
            if response["kind"] != "RESPONSE":
                self.oneways.append(response)
            elif response["request_id"] == request_id:
                break
            elif response["request_id"] == 0 and response["status"] != "OK":
                self.close()
                raise FerryConnectionError(response["status"], response["message"], code)
        if response["status"] != "OK":
            raise FerryError(response["status"], response["message"], code, response["headers"])
        return response

    def create_topic(self, topic, queues):
        return int(dict(self.request("CREATE_TOPIC", [("topic", topic), ("queues", queues)])["headers"])["queues"])

    def send(self, topic, body, queue_id=-1, keys=(), tags="", properties=(), born_timestamp=0):
        """Stores one message; returns (msg_id, queue_id, queue_offset)."""
        message = {"topic": topic, "queue_id": queue_id, "queue_offset": -1, "keys": list(keys), "tags": tags,
                   "properties": list(properties), "born_timestamp": born_timestamp, "body": body}
        h = dict(self.request("SEND", messages=[message])["headers"])
        return h["msgId"], int(h["queueId"]), int(h["queueOffset"])

    def fetch(self, topic, queue_id, offset, max_messages=32, max_wait_ms=0):
        """(messages, nextOffset) of one queue from offset on."""
        r = self.request("FETCH", [("topic", topic), ("queueId", queue_id), ("offset", offset),
                                   ("maxMessages", max_messages), ("maxWaitMs", max_wait_ms)])
        return r["messages"], int(dict(r["headers"])["nextOffset"])
