"""End-to-end check of ferry_protobuf.py and ferry_hessian.py: python3 codecs_test.py --port N.

For each codec, against the broker at --port: creates a topic (and again: TOPIC_EXISTS), sends
messages with keys, tags, properties (one with a char past U+FFFF) and bodies of every size class
(empty, short, one past a Hessian chunk of 65,535 bytes), fetches them back equal from queue 0,
offset 0 (fields protobuf leaves out at zero), and sends an unknown code (UNSUPPORTED with its own
request id, the connection kept). Then, as a hostile client, sends malformed frames and checks
that each is answered with request id 0, the expected error and a closed connection, while a
connection opened before them still works. First, without the broker, decodes a Hessian body and
string of thousands of chunks. Prints "OK ..." and exits 0, or prints why and exits 1.
"""

import argparse
import os
import struct
import sys
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ferry_hessian as hessian  # noqa: E402
import ferry_protobuf as protobuf  # noqa: E402
from ferry_client import FerryConnectionError, FerryError  # noqa: E402
from ferry_codec_client import CodecClient  # noqa: E402


def check_round_trip(codec, host, port):
    topic = "py-%s-%s" % (codec.NAME, uuid.uuid4().hex[:8])
    with CodecClient(codec, host, port) as c:
        assert c.create_topic(topic, 2) == 2
        try:
            c.create_topic(topic, 2)
            raise AssertionError("a second CREATE_TOPIC succeeded")
        except FerryError as e:
            assert e.status == "TOPIC_EXISTS", e.status
        bodies = [b"", b"hi", bytes(range(256)), bytes(i % 251 for i in range(65_536 + 10))]
        properties = [("region", "eu"), ("emoji", "\U0001F600 ok"), ("empty", "")]
        for i, body in enumerate(bodies):
            _, queue, offset = c.send(topic, body, queue_id=0, keys=["k%d" % i], tags="t",
                                      properties=properties, born_timestamp=1_767_225_600_000 + i)
            assert (queue, offset) == (0, i), (queue, offset)
        got, offset = [], 0
        while len(got) < len(bodies):
            messages, offset = c.fetch(topic, 0, offset)
            assert messages, "no messages at offset %d" % offset
            got.extend(messages)
        for i, (m, body) in enumerate(zip(got, bodies)):
            assert m["body"] == body, "body %d: %d bytes back (expected: %d)" % (i, len(m["body"]), len(body))
            assert (m["topic"], m["queue_id"], m["queue_offset"]) == (topic, 0, i), m
            assert m["keys"] == ["k%d" % i] and m["tags"] == "t", m
            assert m["properties"] == properties, "%s message %d: properties %r (expected: %r)" % (codec.NAME, i, m["properties"], properties)
            assert m["born_timestamp"] == 1_767_225_600_000 + i and m["store_timestamp"] > 0, m
        # an unknown code: answered UNSUPPORTED with the request's own id, the connection kept
        command = {"kind": "REQUEST", "code": "HEARTBEAT", "request_id": 4242}
        payload = codec.encode(command)
        if codec is protobuf:
            payload = protobuf.field_varint(2, 69) + protobuf.field_varint(3, 4242)
        else:
            payload = payload.replace(hessian.write_string("HEARTBEAT"), hessian.write_string("FUTURE_CODE"))
        c.send_frame(payload)
        r = c.read_command()
        assert (r["request_id"], r["status"]) == (4242, "UNSUPPORTED"), r
        assert c.create_topic(topic + "-2", 1) == 1, "the connection is kept after UNSUPPORTED"


def check_many_chunks():
    """A body or string of thousands of chunks decodes: Java Hessian cuts binary where its 8 KiB buffer fills,
    so a body of 8 MiB (limits.record.body.bytes raised) comes in some 1,000 chunks, and a reader recursing once
    per chunk failed with RecursionError. No broker needed: such a body is over the default limit of 4 MiB."""
    body = bytes(i % 251 for i in range(3000))
    chunks = b"".join(b"A\x00\x01" + body[i:i + 1] for i in range(len(body) - 1)) + bytes([0x21, body[-1]])
    text = b"R\x00\x01a" * 2999 + b"\x01b"
    payload = hs_command(hessian.write_string("message"), text, hessian.write_string("body"), chunks)
    c = hessian.decode(payload)
    assert c["body"] == body, "%d bytes back (expected: %d)" % (len(c["body"]), len(body))
    assert c["message"] == "a" * 2999 + "b", len(c["message"])


def pb_request(code, request_id, rest=b""):
    return protobuf.field_varint(2, protobuf.CODES[code]) + protobuf.field_varint(3, request_id) + rest


def pb_send(message_fields):
    return pb_request("SEND", 1, protobuf.field_bytes(7, message_fields, always=True))


def hs_map(*pairs):
    return b"H" + b"".join(pairs) + b"Z"


def hs_command(*pairs, code="HEARTBEAT"):
    s = hessian.write_string
    return hs_map(s("kind"), s("REQUEST"), s("code"), s(code), s("requestId"), hessian.write_int(1), *pairs)


S = hessian.write_string

# (name, payload, the error text expected after "bad frame: ")
HOSTILE = {
    protobuf: [
        ("truncated varint", pb_request("HEARTBEAT", 1) + b"\x18\xff\xff", "input ended unexpectedly"),
        ("length past the frame", pb_request("HEARTBEAT", 1) + b"\x2a\xff\xff\xff\x7f" + b"ab",
         "protobuf: WireCommand field 5: length 268435455 bytes (expected: <= 2, the bytes left in the frame)"),
        ("length past 32 bits", pb_request("HEARTBEAT", 1) + b"\x2a" + protobuf.varint(2 ** 32 + 2) + b"ab",
         "protobuf: WireCommand field 5: length 4294967298 bytes"),
        ("negative length", pb_request("HEARTBEAT", 1) + b"\x2a" + protobuf.varint(-1) + b"ab", "length 18446744073709551615 bytes"),
        ("request id as fixed32", protobuf.field_varint(2, 1) + protobuf.tag(3, 5) + b"\x07\x00\x00\x00",
         "protobuf: WireCommand.request_id (field 3): wire type 5 (expected: 0, as ferry.proto declares it)"),
        ("topic as a varint", pb_send(protobuf.tag(1, 0) + b"\x05"),
         "protobuf: WireMessage.topic (field 1): wire type 0 (expected: 2"),
        ("tag past 32 bits", protobuf.field_varint(2, 1) + protobuf.varint((1 << 32) | 0x18) + protobuf.varint(77),
         "protobuf: WireCommand: tag 4294967320"),
        ("field number 0", pb_request("HEARTBEAT", 1) + b"\x00\x00", "protobuf: WireCommand: tag 0"),
        ("a group", pb_request("HEARTBEAT", 1) + protobuf.tag(9, 3) + protobuf.tag(9, 4), "field 9 is a group"),
        ("queue id past 32 bits", pb_send(protobuf.field_string(1, "t") + protobuf.tag(2, 0) + protobuf.varint(2 ** 33)),
         "queueId: 4294967296 (expected: a 32-bit int)"),
        ("unknown kind", protobuf.field_varint(1, 7) + pb_request("HEARTBEAT", 1), "kind: 7"),
        ("65 headers", pb_request("HEARTBEAT", 1, b"".join(
            protobuf.field_bytes(6, protobuf.entry("h%d" % i, "v"), always=True) for i in range(65))),
         "headers: count 65 (expected: <= 64)"),
        ("duplicate header", pb_request("HEARTBEAT", 1, protobuf.field_bytes(6, protobuf.entry("a", "1"), always=True)
                                        + protobuf.field_bytes(6, protobuf.entry("a", "2"), always=True)),
         "headers: duplicate key 'a'"),
        ("invalid UTF-8", pb_request("HEARTBEAT", 1, protobuf.field_bytes(5, b"\xc3\x28")), "UTF-8"),
    ],
    hessian: [
        ("binary past the frame", hs_command(S("body"), b"B\xff\xffabc"),
         "hessian: body: truncated: a binary chunk of 65535 bytes, 4 of them before the end of the frame"),
        ("string past the frame", hs_command(S("message"), b"S\xff\xffabc"), "truncated"),
        ("huge list length", hs_command(S("messages"), b"X" + hessian.write_int(2 ** 31 - 1), code="SEND"),
         "messages: count 2147483647 (expected: <= 10000)"),
        ("negative list length", hs_command(S("messages"), b"X" + hessian.write_int(-1), code="SEND"),
         "messages: count -1 (expected: >= 0)"),
        ("deeply nested lists", hs_command(S("messages"), b"W" * 100_000, code="SEND"), "expected: 0x48 'H', an untyped map"),
        ("deeply nested maps", hs_command(S("headers"), b"H" * 100_000), "header key: tag 0x48 'H' (expected: string"),
        ("an object", hs_command(S("message"), b"C" + S("x") + hessian.write_int(0)), "tag 0x43 'C' (expected: string"),
        ("unknown key", hs_command(S("extra"), S("x")), "command: unknown field 'extra'"),
        ("duplicate key", hs_command(S("requestId"), hessian.write_int(2)), "requestId: duplicate field"),
        ("null", hs_command(S("message"), b"N"), "message: null (expected: a string)"),
        ("bytes after the map", hs_command() + b"H", "payload: bytes after the command map"),
        ("65 headers", hs_command(S("headers"), hs_map(*[S("h%d" % i) + S("v") for i in range(65)])),
         "headers: count 65 (expected: <= 64)"),
    ],
}


def check_hostile(codec, host, port):
    with CodecClient(codec, host, port) as healthy:
        healthy.create_topic("py-hostile-%s-%s" % (codec.NAME, uuid.uuid4().hex[:8]), 1)
        for name, payload, expected in HOSTILE[codec]:
            with CodecClient(codec, host, port) as c:
                c.send_frame(payload)
                r = c.read_command()
                assert r["request_id"] == 0 and r["status"] in ("BAD_REQUEST", "LIMIT_EXCEEDED"), (name, r)
                assert r["message"].startswith("bad frame: ") and expected in r["message"], \
                    "%s: %r (expected: containing %r)" % (name, r["message"], expected)
                try:
                    c.read_command()
                    raise AssertionError("%s: the connection stayed open" % name)
                except FerryConnectionError:
                    pass
            healthy.request("HEARTBEAT")  # other connections are not affected


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9876)
    args = parser.parse_args()
    try:
        check_many_chunks()
        for codec in (protobuf, hessian):
            check_round_trip(codec, args.host, args.port)
            check_hostile(codec, args.host, args.port)
    except Exception:
        traceback.print_exc()
        print("FAILED")
        return 1
    print("OK python codec clients: protobuf and hessian round trips, %d hostile frames refused"
          % sum(len(v) for v in HOSTILE.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
