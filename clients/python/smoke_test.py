"""End-to-end check of ferry_client.py: python3 smoke_test.py --port N.

Against the broker at --port: creates a topic, sends text and binary messages, fetches them back
byte-equal and in order, commits an offset and reads it back; long-polls an empty queue for longer
than the client's own timeout; sends a frame the broker cannot decode, and messages over a
stored-message limit (an error, the client usable) and over a codec limit (the client closed). Against fake brokers in
this process (sockets that answer the handshake, then break the response frame on purpose): checks
that a stall or a drop mid-frame, an undecodable frame and a response without its fields raise the
client's own errors and close the connection. Prints "OK ..." and exits 0, or prints why and exits 1.
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_client import FerryClient, FerryConnectionError, FerryError, FerryProtocolError  # noqa: E402


def expect(error_type, call):
    """The error call() raises, which must be exactly of error_type."""
    try:
        call()
    except Exception as e:
        if type(e) is not error_type:
            raise AssertionError("expected %s, got %r" % (error_type.__name__, e)) from e
        return e
    raise AssertionError("expected %s, got no error" % error_type.__name__)


def expect_closed_after(client, first):
    """Checks that a request after the error first fails at once, naming first as its cause."""
    later = expect(FerryConnectionError, lambda: client.describe_topic("any"))
    assert later.__cause__ is first, "cause of the later error: %r (expected: %r)" % (later.__cause__, first)
    assert "earlier error" in str(later), str(later)


# ---- against the real broker ----

def check_round_trip(host, port):
    topic = "py-" + uuid.uuid4().hex[:8]
    with FerryClient(host, port) as c:
        assert c.create_topic(topic, 2) == 2
        assert c.describe_topic(topic) == 2
        assert c.describe_topic(topic + "-absent") is None
        sent = [("text %d é" % i).encode("utf-8") for i in range(10)] + [bytes([0xFF, 0x00, 0x9F, 0x80])]
        for i, body in enumerate(sent):
            _, queue, offset = c.send(topic, body, queue_id=1, keys=["k%d" % i], tags="t")
            assert queue == 1 and offset == i, (queue, offset)
        got = []
        offset = 0
        while len(got) < len(sent):
            r = c.fetch(topic, 1, offset, max_messages=4, max_wait_ms=1000, group="py")
            if not r.messages:
                raise AssertionError("no messages at offset %d" % offset)
            got.extend(m.body for m in r.messages)
            offset = r.next_offset
        assert got == sent, got
        assert c.fetch(topic, 0, 0).messages == []
        c.commit("py", topic, 1, offset)
        assert c.committed_offset("py", topic, 1) == offset
        assert c.committed_offset("py", topic, 0) is None
        e = expect(FerryError, lambda: c.create_topic(topic, 2))
        assert e.status == "TOPIC_EXISTS", e.status
        assert c.describe_topic(topic) == 2, "the client is still usable after an error status"
    return topic, len(sent), offset


def check_long_poll_outlasts_timeout(host, port, topic):
    """A FETCH may wait longer than the client's timeout: the wait it asks for extends it."""
    timeout_s, max_wait_ms = 2.0, 3000
    with FerryClient(host, port, timeout=timeout_s) as c:
        started = time.monotonic()
        r = c.fetch(topic, 0, 0, max_wait_ms=max_wait_ms)
        waited = time.monotonic() - started
    assert r.messages == [] and r.next_offset == 0, (r.messages, r.next_offset)
    # Only a broker that held the fetch past the client's timeout makes this check mean anything.
    assert waited >= timeout_s, "fetch answered after %.1f s (expected: a long poll of %d ms)" % (waited, max_wait_ms)


def check_connection_level_error(host, port):
    """A frame the broker cannot decode is answered with request id 0, then the broker closes.

    A request code sent as a number makes one: the JSON codec takes codes by name only. (A lone
    surrogate in a header, which made one before, is refused by the client now: ValueError, before
    anything is sent, and the client stays usable.)
    """
    c = FerryClient(host, port)
    expect(ValueError, lambda: c.request("HEARTBEAT", {"note": "\ud800"}))
    c.request("HEARTBEAT")
    first = expect(FerryConnectionError, lambda: c.request(1))
    assert first.status == "BAD_REQUEST", first.status
    assert "bad frame" in str(first), str(first)
    expect_closed_after(c, first)


def check_unknown_code(host, port):
    """A request code this broker does not serve is answered UNSUPPORTED; the connection stays usable."""
    with FerryClient(host, port) as c:
        e = expect(FerryError, lambda: c.request("NO_SUCH_CODE"))
        assert e.status == "UNSUPPORTED", e.status
        assert c.describe_topic("py-absent-" + uuid.uuid4().hex[:8]) is None


def check_limits(host, port, topic):
    """The two kinds of limit of the README's send(): a message the store refuses (a key with a
    space, a body over 4 MiB) is a FerryError and the client stays usable; one over a codec limit
    (33 keys) is a connection-level LIMIT_EXCEEDED, and the client is closed."""
    c = FerryClient(host, port)
    e = expect(FerryError, lambda: c.send(topic, b"x", keys=["a b"]))
    assert e.status == "BAD_REQUEST" and "without spaces" in e.message, e
    e = expect(FerryError, lambda: c.send(topic, b"x" * ((4 << 20) + 1)))
    assert e.status == "LIMIT_EXCEEDED" and "body: 4194305 bytes" in e.message, e
    assert c.describe_topic(topic) == 2, "the client is still usable after a stored-message limit"
    first = expect(FerryConnectionError, lambda: c.send(topic, b"x", keys=["k%d" % i for i in range(33)]))
    assert first.status == "LIMIT_EXCEEDED" and "keys: count 33" in first.message, first
    expect_closed_after(c, first)


def check_refused_connection():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound but not listening: a connection to it is refused
        port = s.getsockname()[1]
        e = expect(FerryConnectionError, lambda: FerryClient("127.0.0.1", port))
    assert isinstance(e.__cause__, OSError), repr(e.__cause__)


# ---- against fake brokers that break a frame ----

def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise AssertionError("fake broker: the client closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


class FakeBroker:
    """A broker stand-in for one connection on an ephemeral port of 127.0.0.1. It answers the
    handshake, reads one request frame, and calls misbehave(conn) to answer it with a broken frame;
    if that returns True it then records the client's next bytes in next_from_client: b"" when the
    client closed its side, as it should."""

    HELLO = b"FRRY\x01\x01\x04json"

    def __init__(self, misbehave):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.next_from_client = None
        self.failure = None
        self.thread = threading.Thread(target=self._serve, args=(misbehave,), daemon=True)
        self.thread.start()

    def _serve(self, misbehave):
        try:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(10.0)  # a guard against a test that hangs, not a timing assumption
                hello = recv_exactly(conn, len(self.HELLO))
                assert hello == self.HELLO, "hello: %r (expected: %r)" % (hello, self.HELLO)
                conn.sendall(b"FRRY\x01\x00\x04json")
                (length,) = struct.unpack(">I", recv_exactly(conn, 4))
                recv_exactly(conn, length)
                if misbehave(conn):
                    self.next_from_client = conn.recv(1 << 16)
        except Exception as e:
            self.failure = e

    def finish(self):
        """What the client sent after the broken frame (None if the fake broker closed first)."""
        self.thread.join(15.0)
        self.listener.close()
        assert not self.thread.is_alive(), "fake broker still running"
        if self.failure is not None:
            raise AssertionError("fake broker: %r" % (self.failure,)) from self.failure
        return self.next_from_client


HALF_FRAME = struct.pack(">I", 100) + b'{"kind":"RESPONSE"'  # 18 of the 100 bytes announced


def stall_mid_frame(conn):
    conn.sendall(HALF_FRAME)
    return True


def close_mid_frame(conn):
    conn.sendall(HALF_FRAME)
    return False


def send_undecodable_frame(conn):
    payload = b'{"kind":"RESPONSE","requestId":'  # a whole frame, cut JSON
    conn.sendall(struct.pack(">I", len(payload)) + payload)
    return True


def send_response_without_headers(conn):
    payload = b'{"kind":"RESPONSE","code":"FETCH","requestId":1,"status":"OK"}'  # the client's first id
    conn.sendall(struct.pack(">I", len(payload)) + payload)
    return True


def send_oversized_frame_length(conn):
    conn.sendall(struct.pack(">I", 0x7FFFFFFF))
    return True


def check_broken_peer(misbehave, error_type, status, cause_type, says):
    fake = FakeBroker(misbehave)
    client = FerryClient("127.0.0.1", fake.port, timeout=0.5)
    first = expect(error_type, lambda: client.fetch("t", 0, 0))
    assert first.status == status, "%s: status %s (expected: %s)" % (misbehave.__name__, first.status, status)
    if cause_type is not None:
        assert isinstance(first.__cause__, cause_type), "%s: cause %r" % (misbehave.__name__, first.__cause__)
    assert says in str(first), "%s: %r does not say %r" % (misbehave.__name__, str(first), says)
    expect_closed_after(client, first)
    after = fake.finish()
    assert after in (None, b""), "%s: the client sent %r after the broken frame (expected: it closes)" % (
        misbehave.__name__, after)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    topic, count, offset = check_round_trip(args.host, args.port)
    check_long_poll_outlasts_timeout(args.host, args.port, topic)
    check_connection_level_error(args.host, args.port)
    check_unknown_code(args.host, args.port)
    check_limits(args.host, args.port, topic)
    check_refused_connection()
    check_broken_peer(stall_mid_frame, FerryConnectionError, "CONNECTION", socket.timeout, "18 of 100 bytes read, then nothing")
    check_broken_peer(close_mid_frame, FerryConnectionError, "CONNECTION", None, "18 of 100 bytes read, then 127.0.0.1")
    check_broken_peer(send_undecodable_frame, FerryProtocolError, "BAD_RESPONSE", ValueError, "not UTF-8 JSON")
    check_broken_peer(send_response_without_headers, FerryProtocolError, "BAD_RESPONSE", KeyError, "missing field 'headers'")
    check_broken_peer(send_oversized_frame_length, FerryProtocolError, "FRAME_TOO_LARGE", None, "2147483647 bytes")
    print("OK python client: topic %s, %d messages sent and fetched, offset %d committed; "
          "long poll past the timeout, broken connections closed" % (topic, count, offset))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        traceback.print_exc()
        print("FAILED: %r" % (e,))
        sys.exit(1)
