"""Ferry's Hessian codec (docs/PROTOCOL.md section 6), written by hand with the standard library.

A frame's payload is one Hessian 2.0 value: an untyped map ('H' ... 'Z') of the command's fields,
named as in the JSON codec. A command here is the dict of ferry_codec_client (kind, code and
status by name, request_id, headers and properties as lists of (key, value) pairs, body bytes).

The Hessian 2.0 forms this module writes and reads (http://hessian.caucho.com/doc/hessian-serialization.html):

    null 'N'; true 'T'; false 'F'
    int     0x80-0xbf (-16..47), 0xc0-0xcf + 1 byte, 0xd0-0xd7 + 2 bytes, 'I' + 4 bytes
    long    0xd8-0xef (-8..15), 0xf0-0xff + 1 byte, 0x38-0x3f + 2 bytes, 'Y' + 4 bytes, 'L' + 8 bytes
    double  0x5b 0.0, 0x5c 1.0, 0x5d + 1 byte, 0x5e + 2 bytes, 0x5f + 4 bytes (float*1000), 'D' + 8 bytes
    string  0x00-0x1f + chars, 0x30-0x33 + 1 byte, 'S' + u16, 'R' + u16 (a chunk, more follow); the
            length counts UTF-16 chars, each char in UTF-8 (a char past U+FFFF: two 3-byte surrogates)
    binary  0x20-0x2f + bytes, 0x34-0x37 + 1 byte, 'B' + u16, 'A' + u16 (a chunk, more follow)
    list    'X' int n + n values, 0x78-0x7f (n = 0..7) + n values, 'W' values 'Z'
    map     'H' (key value)* 'Z'
"""

import struct

NAME = "hessian"
CHUNK = 0xFFFF

# ---- encoding ----


def write_int(n):
    if -16 <= n <= 47:
        return bytes([0x90 + n])
    if -2048 <= n <= 2047:
        return bytes([0xC8 + (n >> 8), n & 0xFF])
    if -262144 <= n <= 262143:
        return bytes([0xD4 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF])
    return b"I" + struct.pack(">i", n)


def write_long(n):
    if -8 <= n <= 15:
        return bytes([0xE0 + n])
    if -2048 <= n <= 2047:
        return bytes([0xF8 + (n >> 8), n & 0xFF])
    if -262144 <= n <= 262143:
        return bytes([0x3C + (n >> 16), (n >> 8) & 0xFF, n & 0xFF])
    if -(1 << 31) <= n < 1 << 31:
        return b"Y" + struct.pack(">i", n)
    return b"L" + struct.pack(">q", n)


def utf16_units(text):
    """text as UTF-16 code units, each a 1-char str (Hessian counts and writes chars, not code points)."""
    raw = text.encode("utf-16-be", "surrogatepass")
    return [raw[i:i + 2].decode("utf-16-be", "surrogatepass") for i in range(0, len(raw), 2)]


def write_string(text):
    units = utf16_units(text)
    out = bytearray()
    while len(units) > CHUNK:
        out += b"R" + struct.pack(">H", CHUNK) + "".join(units[:CHUNK]).encode("utf-8", "surrogatepass")
        units = units[CHUNK:]
    n = len(units)
    data = "".join(units).encode("utf-8", "surrogatepass")
    if n < 32:
        out.append(n)
    elif n < 1024:
        out += bytes([0x30 + (n >> 8), n & 0xFF])
    else:
        out += b"S" + struct.pack(">H", n)
    return bytes(out + data)


def write_binary(data):
    out = bytearray()
    while len(data) > CHUNK:
        out += b"A" + struct.pack(">H", CHUNK) + data[:CHUNK]
        data = data[CHUNK:]
    n = len(data)
    if n <= 15:
        out.append(0x20 + n)
    elif n < 1024:
        out += bytes([0x34 + (n >> 8), n & 0xFF])
    else:
        out += b"B" + struct.pack(">H", n)
    return bytes(out + data)


def write_list(values, write):
    n = len(values)
    head = bytes([0x78 + n]) if n <= 7 else b"X" + write_int(n)
    return head + b"".join(write(v) for v in values)


def write_pairs(pairs):
    return b"H" + b"".join(write_string(k) + write_string(v) for k, v in pairs) + b"Z"


def write_message(m):
    return b"".join([
        b"H",
        write_string("topic"), write_string(m["topic"]),
        write_string("queueId"), write_int(m.get("queue_id", -1)),
        write_string("queueOffset"), write_long(m.get("queue_offset", -1)),
        write_string("msgId"), write_string(m.get("msg_id", "")),
        write_string("keys"), write_list(list(m.get("keys", ())), write_string),
        write_string("tags"), write_string(m.get("tags", "")),
        write_string("properties"), write_pairs(m.get("properties", ())),
        write_string("bornTimestamp"), write_long(m.get("born_timestamp", 0)),
        write_string("storeTimestamp"), write_long(m.get("store_timestamp", 0)),
        write_string("deliverAt"), write_long(m.get("deliver_at", 0)),
        write_string("flags"), write_int(m.get("flags", 0)),
        write_string("body"), write_binary(m.get("body", b"")),
        b"Z"])


def encode(command):
    """The Hessian map of command, as the bytes of one frame's payload."""
    return b"".join([
        b"H",
        write_string("kind"), write_string(command["kind"]),
        write_string("code"), write_string(command["code"]),
        write_string("requestId"), write_int(command["request_id"]),
        write_string("status"), write_string(command.get("status", "OK")),
        write_string("message"), write_string(command.get("message", "")),
        write_string("headers"), write_pairs(command.get("headers", ())),
        write_string("messages"), write_list(list(command.get("messages", ())), write_message),
        write_string("body"), write_binary(command.get("body", b"")),
        b"Z"])

# ---- decoding ----


class DecodeError(ValueError):
    pass


class Reader:
    """Reads the Hessian values listed in the module doc from data; DecodeError for anything else."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise DecodeError("%d bytes at byte %d past the end (%d bytes)" % (n, self.pos, len(self.data)))
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def chars(self, n):
        """n UTF-16 chars, each 1 to 3 UTF-8 bytes."""
        start = self.pos
        for _ in range(n):
            lead = self.byte()
            self.take(0 if lead < 0x80 else 1 if lead < 0xE0 else 2)
        return bytes(self.data[start:self.pos]).decode("utf-8", "surrogatepass").encode(
            "utf-16-be", "surrogatepass").decode("utf-16-be")

    def value(self):
        at, t = self.pos, self.byte()
        if t == 0x4E:
            return None
        if t in (0x54, 0x46):
            return t == 0x54
        if 0x80 <= t <= 0xBF:
            return t - 0x90
        if 0xC0 <= t <= 0xCF:
            return ((t - 0xC8) << 8) + self.byte()
        if 0xD0 <= t <= 0xD7:
            return ((t - 0xD4) << 16) + (self.byte() << 8) + self.byte()
        if t in (0x49, 0x59):  # 'I' int, 'Y' long in 32 bits
            return struct.unpack(">i", self.take(4))[0]
        if 0xD8 <= t <= 0xEF:
            return t - 0xE0
        if 0xF0 <= t <= 0xFF:
            return ((t - 0xF8) << 8) + self.byte()
        if 0x38 <= t <= 0x3F:
            return ((t - 0x3C) << 16) + (self.byte() << 8) + self.byte()
        if t == 0x4C:
            return struct.unpack(">q", self.take(8))[0]
        if t <= 0x1F:
            return self.chars(t)
        if 0x30 <= t <= 0x33:
            return self.chars(((t - 0x30) << 8) + self.byte())
        if t == 0x53:  # 'S' final chunk
            return self.chars(self.u16())
        if t in (0x52, 0x41):  # 'R' / 'A': a chunk of a string / binary; the rest follows as one more value
            return self.chunked(at, t)
        if 0x20 <= t <= 0x2F:
            return bytes(self.take(t - 0x20))
        if 0x34 <= t <= 0x37:
            return bytes(self.take(((t - 0x34) << 8) + self.byte()))
        if t == 0x42:  # 'B' final chunk
            return bytes(self.take(self.u16()))
        if t == 0x58:  # 'X' fixed untyped list
            n = self.value()
            if not isinstance(n, int) or n < 0:
                raise DecodeError("list length %r at byte %d" % (n, at))
            return [self.value() for _ in range(n)]
        if 0x78 <= t <= 0x7F:
            return [self.value() for _ in range(t - 0x78)]
        if t == 0x57:  # 'W' variable untyped list
            out = []
            while self.data[self.pos:self.pos + 1] != b"Z":
                out.append(self.value())
            self.pos += 1
            return out
        if t == 0x48:  # 'H' untyped map
            out = {}
            while self.data[self.pos:self.pos + 1] != b"Z":
                key = self.value()
                out[key] = self.value()
            self.pos += 1
            return out
        raise DecodeError("tag 0x%02x at byte %d (expected: one of the types this client reads)" % (t, at))

    def chunked(self, at, t):
        """A string ('R') or binary ('A') in chunks, from the first chunk's length on. Read in a loop, not a
        recursion per chunk: Java Hessian cuts binary where its 8 KiB buffer fills, so a body of 8 MiB comes in
        some 1,000 chunks, past Python's recursion limit, and joining them two by two copied the body as often."""
        kind = str if t == 0x52 else bytes
        parts = []
        while True:
            n = self.u16()
            parts.append(self.chars(n) if kind is str else bytes(self.take(n)))
            if self.data[self.pos:self.pos + 1] != bytes([t]):
                break
            self.pos += 1
        rest = self.value()  # the final chunk: 'S' / 'B', or a short or medium one
        if not isinstance(rest, kind):
            raise DecodeError("chunked %s at byte %d: continued by a %s"
                              % ("string" if kind is str else "binary", at, type(rest).__name__))
        parts.append(rest)
        return "".join(parts) if kind is str else b"".join(parts)


def pairs(value):
    return list(value.items()) if isinstance(value, dict) else []


def decode(data):
    """The command of one frame's payload; DecodeError (a ValueError) if it is not a Hessian command map."""
    reader = Reader(data)
    m = reader.value()
    if reader.pos != len(data):
        raise DecodeError("%d bytes after the command map" % (len(data) - reader.pos))
    if not isinstance(m, dict):
        raise DecodeError("payload: %s (expected: a map)" % type(m).__name__)
    messages = []
    for d in m.get("messages") or []:
        messages.append({"topic": d["topic"], "queue_id": d.get("queueId", -1), "queue_offset": d.get("queueOffset", -1),
                         "msg_id": d.get("msgId", ""), "keys": d.get("keys") or [], "tags": d.get("tags", ""),
                         "properties": pairs(d.get("properties")), "born_timestamp": d.get("bornTimestamp", 0),
                         "store_timestamp": d.get("storeTimestamp", 0), "deliver_at": d.get("deliverAt", 0),
                         "flags": d.get("flags", 0), "body": d.get("body") or b""})
    return {"kind": m["kind"], "code": m["code"], "request_id": m["requestId"], "status": m.get("status", "OK"),
            "message": m.get("message") or "", "headers": pairs(m.get("headers")), "messages": messages,
            "body": m.get("body") or b""}
