"""Ferry's protobuf codec (docs/PROTOCOL.md section 7), written by hand with the standard library.

No generated code and no protobuf library: this module encodes and decodes ferry.v1.WireCommand
(protocol-protobuf/src/main/proto/ferry.proto) with the protobuf wire format itself, as a client
author in a language without a protobuf library would. A command is the dict of
ferry_codec_client: kind, code and status by name, request_id, message, headers and properties as
lists of (key, value) pairs (their order is kept), body bytes.

    varint     7 bits a byte, least significant group first, high bit = more bytes follow
    tag        varint (field number << 3) | wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
    int32/64   two's complement in 64 bits: a negative int32 takes 10 bytes
    sint32/64  zigzag first ((n << 1) ^ (n >> 63)), so -1 is one byte
    string     wire type 2, UTF-8;  bytes: wire type 2;  message: wire type 2, its fields
    repeated   one tagged field per element, in order
"""

NAME = "protobuf"

KINDS = {"REQUEST": 0, "RESPONSE": 1, "ONEWAY": 2}
CODES = {"REQUEST_CODE_UNSPECIFIED": 0, "HEARTBEAT": 1, "CREATE_TOPIC": 10, "DESCRIBE_TOPIC": 11,
         "LIST_TOPICS": 12, "DELETE_TOPIC": 13, "SEND": 20, "SEND_BATCH": 21, "FETCH": 30,
         "COMMIT_OFFSET": 31, "GET_OFFSET": 32, "ACK": 33, "NACK": 34, "QUERY_MESSAGE": 40,
         "SEND_HALF": 50, "END_TRANSACTION": 51, "CHECK_TRANSACTION": 52, "REGISTER_PRODUCER": 53,
         "JOIN_GROUP": 60, "LEAVE_GROUP": 61, "GROUP_HEARTBEAT": 62, "LIST_GROUPS": 63,
         "DESCRIBE_GROUP": 64, "RESET_OFFSETS": 65, "LOCK_QUEUE": 66, "UNLOCK_QUEUE": 67, "DELETE_GROUP": 68}
STATUSES = {"OK": 0, "BAD_REQUEST": 1, "NOT_FOUND": 2, "TOPIC_EXISTS": 3, "BUSY": 4, "TIMEOUT": 5,
            "OFFSET_OUT_OF_RANGE": 6, "FRAME_TOO_LARGE": 7, "LIMIT_EXCEEDED": 8, "UNSUPPORTED": 9,
            "INTERNAL_ERROR": 10, "FENCED": 11, "LOCKED": 12}

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

# ---- encoding ----


def varint(n):
    """n (0 <= n < 2**64) as a varint; a negative int32/int64 is first taken modulo 2**64."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def field_varint(field, n):
    """An int32/int64/enum field; proto3 leaves out a field at its default (0)."""
    return tag(field, VARINT) + varint(n) if n else b""


def field_sint(field, n):
    return tag(field, VARINT) + varint(zigzag(n)) if n else b""


def field_bytes(field, data, always=False):
    if not data and not always:
        return b""
    return tag(field, LENGTH_DELIMITED) + varint(len(data)) + data


def field_string(field, text):
    return field_bytes(field, text.encode("utf-8"))


def entry(key, value):
    return field_string(1, key) + field_string(2, value)


def encode_message(m):
    out = bytearray()
    out += field_string(1, m["topic"])
    out += field_sint(2, m.get("queue_id", -1))  # -1 (broker's choice) must be sent: proto3's default is 0
    out += field_sint(3, m.get("queue_offset", -1))
    out += field_string(4, m.get("msg_id", ""))
    for k in m.get("keys", ()):
        out += field_bytes(5, k.encode("utf-8"), always=True)
    out += field_string(6, m.get("tags", ""))
    for k, v in m.get("properties", ()):
        out += field_bytes(7, entry(k, v), always=True)
    out += field_varint(8, m.get("born_timestamp", 0))
    out += field_varint(9, m.get("store_timestamp", 0))
    out += field_varint(10, m.get("deliver_at", 0))
    out += field_varint(11, m.get("flags", 0))
    out += field_bytes(12, m.get("body", b""))
    return bytes(out)


def encode(command):
    """The WireCommand of command, as the bytes of one frame's payload."""
    out = bytearray()
    out += field_varint(1, KINDS[command["kind"]])
    out += field_varint(2, CODES[command["code"]])
    out += field_varint(3, command["request_id"])
    out += field_varint(4, STATUSES[command.get("status", "OK")])
    out += field_string(5, command.get("message", ""))
    for k, v in command.get("headers", ()):
        out += field_bytes(6, entry(k, v), always=True)
    for m in command.get("messages", ()):
        out += field_bytes(7, encode_message(m), always=True)
    out += field_bytes(8, command.get("body", b""))
    return bytes(out)

# ---- decoding ----


class DecodeError(ValueError):
    pass


def read_varint(data, pos):
    """(value, next position) of the varint at pos; at most 10 bytes."""
    n = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            raise DecodeError("truncated varint at byte %d" % pos)
        byte = data[pos + i]
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n & ((1 << 64) - 1), pos + i + 1
    raise DecodeError("varint longer than 10 bytes at byte %d" % pos)


def fields(data):
    """(field number, wire type, value) for each field of data: an int for varints and fixed, bytes for wire type 2."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if length > len(data) - pos:
                raise DecodeError("field %d: length %d past the end (%d bytes left)" % (field, length, len(data) - pos))
            value, pos = data[pos:pos + length], pos + length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if size > len(data) - pos:
                raise DecodeError("field %d: truncated fixed%d" % (field, size * 8))
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise DecodeError("field %d: wire type %d (expected: 0, 1, 2 or 5)" % (field, wire_type))
        yield field, wire_type, value


def signed(n, bits):
    """The varint n read as a two's-complement int of bits (int32 fields come sign-extended to 64 bits)."""
    n &= (1 << 64) - 1
    n = n - (1 << 64) if n >= 1 << 63 else n
    if bits == 32 and not -(1 << 31) <= n < 1 << 31:
        raise DecodeError("%d is not a 32-bit int" % n)
    return n


def unzigzag(n):
    return (n >> 1) ^ -(n & 1)


def name_of(names, number, what):
    for name, n in names.items():
        if n == number:
            return name
    raise DecodeError("%s: %d (expected: one of %s)" % (what, number, sorted(names.values())))


def decode_entry(data):
    key = value = ""
    for field, wire_type, v in fields(data):
        if wire_type == LENGTH_DELIMITED and field == 1:
            key = bytes(v).decode("utf-8")
        elif wire_type == LENGTH_DELIMITED and field == 2:
            value = bytes(v).decode("utf-8")
    return key, value


def decode_message(data):
    m = {"topic": "", "queue_id": 0, "queue_offset": 0, "msg_id": "", "keys": [], "tags": "", "properties": [],
         "born_timestamp": 0, "store_timestamp": 0, "deliver_at": 0, "flags": 0, "body": b""}
    for field, wire_type, v in fields(data):
        if wire_type == LENGTH_DELIMITED:
            if field == 1:
                m["topic"] = bytes(v).decode("utf-8")
            elif field == 4:
                m["msg_id"] = bytes(v).decode("utf-8")
            elif field == 5:
                m["keys"].append(bytes(v).decode("utf-8"))
            elif field == 6:
                m["tags"] = bytes(v).decode("utf-8")
            elif field == 7:
                m["properties"].append(decode_entry(v))
            elif field == 12:
                m["body"] = bytes(v)
        elif wire_type == VARINT:
            if field == 2:
                m["queue_id"] = signed(unzigzag(v), 32)
            elif field == 3:
                m["queue_offset"] = unzigzag(v)
            elif field in (8, 9, 10):
                m[{8: "born_timestamp", 9: "store_timestamp", 10: "deliver_at"}[field]] = signed(v, 64)
            elif field == 11:
                m["flags"] = signed(v, 32)
    return m


def decode(data):
    """The command of one frame's payload; DecodeError (a ValueError) if it is not a WireCommand."""
    c = {"kind": "REQUEST", "code": "REQUEST_CODE_UNSPECIFIED", "request_id": 0, "status": "OK", "message": "",
         "headers": [], "messages": [], "body": b""}
    for field, wire_type, v in fields(data):
        if wire_type == VARINT:
            if field == 1:
                c["kind"] = name_of(KINDS, v, "kind")
            elif field == 2:
                c["code"] = name_of(CODES, v, "code")
            elif field == 3:
                c["request_id"] = signed(v, 32)
            elif field == 4:
                c["status"] = name_of(STATUSES, v, "status")
        elif wire_type == LENGTH_DELIMITED:
            if field == 5:
                c["message"] = bytes(v).decode("utf-8")
            elif field == 6:
                c["headers"].append(decode_entry(v))
            elif field == 7:
                c["messages"].append(decode_message(v))
            elif field == 8:
                c["body"] = bytes(v)
    return c
