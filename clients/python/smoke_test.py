"""End-to-end check of ferry_client.py against a running broker: python3 smoke_test.py --port N.

Creates a topic, sends text and binary messages, fetches them back byte-equal and in order,
commits an offset and reads it back. Prints "OK ..." and exits 0, or prints why and exits 1.
"""

import argparse
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_client import FerryClient, FerryError  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    topic = "py-" + uuid.uuid4().hex[:8]
    with FerryClient(args.host, args.port) as c:
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
        try:
            c.create_topic(topic, 2)
            raise AssertionError("created a topic twice")
        except FerryError as e:
            assert e.status == "TOPIC_EXISTS", e.status
    print("OK python client: topic %s, %d messages sent and fetched, offset %d committed" % (topic, len(sent), offset))


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, FerryError, OSError) as e:
        print("FAILED: %r" % (e,))
        sys.exit(1)
