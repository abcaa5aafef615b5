package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.gateway.TestClient.Fetched;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every request code round-trips over each codec, and each error status comes back where the
 * protocol says. One server for the class; each test uses topics named after itself and the codec.
 */
class RequestsTest {
    private static final int BROKER_MAX_PROPERTIES = 8;

    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dir, log -> log.maxProperties(BROKER_MAX_PROPERTIES), gw -> gw);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void topicAdministration(String codec) throws IOException {
        String topic = "admin-" + codec;
        try (TestClient c = server.connect(codec)) {
            Command created = c.createTopic(topic, 4);
            assertThat(created.status()).as(created.message()).isEqualTo(Status.OK);
            assertThat(created.headers()).containsEntry(Headers.TOPIC, topic).containsEntry(Headers.QUEUES, "4");

            Command again = c.createTopic(topic, 2);
            assertThat(again.status()).isEqualTo(Status.TOPIC_EXISTS);
            assertThat(again.message()).contains(topic);

            Command described = c.call(c.request(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, topic).build());
            assertThat(described.status()).isEqualTo(Status.OK);
            assertThat(described.headers()).containsEntry(Headers.TOPIC, topic).containsEntry(Headers.QUEUES, "4");

            c.createTopic(topic + "-b", 1);
            Command listed = c.call(c.request(RequestCode.LIST_TOPICS).header(Headers.PREFIX, topic).build());
            assertThat(listed.status()).isEqualTo(Status.OK);
            assertThat(listed.header(Headers.COUNT)).isEqualTo("2");
            assertThat(new String(TestClient.bytes(listed.body()), StandardCharsets.UTF_8)).isEqualTo(topic + "\n" + topic + "-b");

            Command all = c.call(c.request(RequestCode.LIST_TOPICS).build());
            assertThat(new String(TestClient.bytes(all.body()), StandardCharsets.UTF_8).split("\n")).contains(topic, topic + "-b");

            Command deleted = c.call(c.request(RequestCode.DELETE_TOPIC).header(Headers.TOPIC, topic + "-b").build());
            assertThat(deleted.status()).as(deleted.message()).isEqualTo(Status.OK);
            Command gone = c.call(c.request(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, topic + "-b").build());
            assertThat(gone.status()).isEqualTo(Status.NOT_FOUND);
            Command deleteAgain = c.call(c.request(RequestCode.DELETE_TOPIC).header(Headers.TOPIC, topic + "-b").build());
            assertThat(deleteAgain.status()).isEqualTo(Status.NOT_FOUND);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void sendSendBatchAndFetch(String codec) throws IOException {
        String topic = "send-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 2);
            Map<String, String> props = new LinkedHashMap<>();
            props.put("region", "eu");
            props.put("trace", "x-1");
            Message one = Message.builder(topic).queueId(1).keys(List.of("order-1", "cust-9")).tags("created")
                    .properties(props).bornTimestamp(1_767_225_600_000L).body(new byte[] {0, (byte) 0x9f, 1, (byte) 0xff}).build();
            Command sent = c.send(one);
            assertThat(sent.status()).as(sent.message()).isEqualTo(Status.OK);
            assertThat(sent.headers()).containsEntry(Headers.QUEUE_ID, "1").containsEntry(Headers.QUEUE_OFFSET, "0");
            String msgId = sent.header(Headers.MSG_ID);
            assertThat(msgId).matches("[0-9A-F]{16}");

            List<Message> batch = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                batch.add(TestClient.message(topic, 1, utf8("batch-" + i)));
            }
            Command batchSent = c.call(c.request(RequestCode.SEND_BATCH).messages(batch).build());
            assertThat(batchSent.status()).as(batchSent.message()).isEqualTo(Status.OK);
            assertThat(batchSent.headers()).containsEntry(Headers.QUEUE_ID, "1").containsEntry(Headers.QUEUE_OFFSET, "1")
                    .containsEntry(Headers.COUNT, "3");
            String[] batchIds = new String(TestClient.bytes(batchSent.body()), StandardCharsets.UTF_8).split("\n");
            assertThat(batchIds).hasSize(3).doesNotHaveDuplicates().doesNotContain(msgId);
            assertThat(batchSent.bodyLength()).as("three ids, one a line, no newline after the last").isEqualTo(3 * 17 - 1);

            Command fetched = c.fetch(topic, 1, 0, 10);
            assertThat(fetched.status()).as(fetched.message()).isEqualTo(Status.OK);
            assertThat(fetched.headers()).containsEntry(Headers.NEXT_OFFSET, "4").containsEntry(Headers.MIN_OFFSET, "0")
                    .containsEntry(Headers.MAX_OFFSET, "4");
            if (codec.equals("binary")) {
                assertThat(fetched.messages()).as("binary FETCH carries records in the body").isEmpty();
            }
            List<Fetched> got = TestClient.fetched(fetched);
            assertThat(got).extracting(Fetched::queueOffset).containsExactly(0L, 1L, 2L, 3L);
            assertThat(got).extracting(Fetched::msgId).containsExactly(msgId, batchIds[0], batchIds[1], batchIds[2]);
            Fetched first = got.get(0);
            assertThat(first.topic()).isEqualTo(topic);
            assertThat(first.queueId()).isEqualTo(1);
            assertThat(first.body()).containsExactly(0, 0x9f, 1, 0xff);
            assertThat(first.tags()).isEqualTo("created");
            assertThat(first.keys()).containsExactly("order-1", "cust-9");
            assertThat(first.properties()).isEqualTo(props);
            assertThat(got.get(3).body()).isEqualTo(utf8("batch-2"));

            Command partial = c.fetch(topic, 1, 2, 1);
            assertThat(partial.header(Headers.NEXT_OFFSET)).isEqualTo("3");
            assertThat(TestClient.fetched(partial)).extracting(Fetched::queueOffset).containsExactly(2L);

            Command tagged = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 1)
                    .header(Headers.OFFSET, 0).header(Headers.TAGS, "created || other").build());
            assertThat(TestClient.fetched(tagged)).extracting(Fetched::queueOffset).containsExactly(0L);
            assertThat(tagged.header(Headers.NEXT_OFFSET)).as("filtered-out messages still advance").isEqualTo("4");

            Command manyTags = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 1)
                    .header(Headers.OFFSET, 0).header(Headers.TAGS, "t || ".repeat(256) + "t").build());
            assertThat(manyTags.status()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(manyTags.message()).isEqualTo("tags: 257 in one expression (expected: at most 256)");
            Command bigIn = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 1)
                    .header(Headers.OFFSET, 0).header(Headers.SQL, "a IN (" + "1, ".repeat(1_000) + "1)").build());
            assertThat(bigIn.status()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(bigIn.message()).contains("more than 1000 operands and IN values");
            Command malformed = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 1)
                    .header(Headers.OFFSET, 0).header(Headers.SQL, "a IN (1").build());
            assertThat(malformed.status()).isEqualTo(Status.BAD_REQUEST);

            Command emptyQueue = c.fetch(topic, 0, 0, 10);
            assertThat(emptyQueue.status()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(emptyQueue)).isEmpty();
            assertThat(emptyQueue.header(Headers.NEXT_OFFSET)).isEqualTo("0");
        }
    }

    /**
     * A long poll with a SQL filter is woken by a send like any other (its read runs on the broker's
     * filtered-fetch thread, not on the sender's): a message that does not match answers it empty,
     * past that message; one that matches answers it with the message.
     */
    @Test
    void aFilteredLongPollIsAnsweredWhenMessagesArrive() throws IOException {
        String topic = "poll-sql";
        try (TestClient consumer = server.connect("json"); TestClient producer = server.connect("binary")) {
            producer.createTopic(topic, 1);
            for (String[] round : new String[][] {{"0", "us", "1", ""}, {"1", "eu", "2", "eu"}}) {
                Command fetch = consumer.fetchRequest(topic, 0, Long.parseLong(round[0]), 10, 20_000).toBuilder()
                        .header(Headers.SQL, "region = 'eu'").build();
                consumer.write(fetch);
                assertThat(consumer.call(consumer.request(RequestCode.HEARTBEAT).build()).code())
                        .as("the fetch must still be waiting").isEqualTo(RequestCode.HEARTBEAT);

                Message m = Message.builder(topic).queueId(0).bornTimestamp(1_700_000_000_000L).properties(Map.of("region", round[1]))
                        .body(utf8(round[1])).build();
                assertThat(producer.send(m).status()).isEqualTo(Status.OK);

                Command answer = consumer.read();
                assertThat(answer.requestId()).isEqualTo(fetch.requestId());
                assertThat(answer.status()).isEqualTo(Status.OK);
                assertThat(answer.header(Headers.NEXT_OFFSET)).isEqualTo(round[2]);
                assertThat(TestClient.fetched(answer)).extracting(f -> new String(f.body(), StandardCharsets.UTF_8))
                        .containsExactlyElementsOf(round[3].isEmpty() ? List.of() : List.of(round[3]));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void longPollReturnsWhenAMessageArrivesFromAnotherConnection(String codec) throws IOException {
        String topic = "poll-" + codec;
        try (TestClient consumer = server.connect(codec); TestClient producer = server.connect("binary")) {
            producer.createTopic(topic, 1);
            Command fetch = consumer.fetchRequest(topic, 0, 0, 10, 20_000);
            consumer.write(fetch);
            // requests of one connection are handled in order: once the heartbeat is answered the fetch is parked
            Command heartbeat = consumer.request(RequestCode.HEARTBEAT).build();
            Command first = consumer.call(heartbeat);
            assertThat(first.code()).as("the fetch must still be waiting").isEqualTo(RequestCode.HEARTBEAT);

            Command sent = producer.send(TestClient.message(topic, 0, utf8("wake up")));
            assertThat(sent.status()).isEqualTo(Status.OK);

            Command answer = consumer.read();
            assertThat(answer.requestId()).isEqualTo(fetch.requestId());
            assertThat(answer.status()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(answer)).extracting(f -> new String(f.body(), StandardCharsets.UTF_8)).containsExactly("wake up");
            assertThat(answer.header(Headers.NEXT_OFFSET)).isEqualTo("1");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void longPollReturnsEmptyAtItsDeadline(String codec) throws IOException {
        String topic = "deadline-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 1);
            long start = System.nanoTime();
            Command r = c.call(c.fetchRequest(topic, 0, 0, 10, 300));
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(r.status()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(r)).isEmpty();
            assertThat(r.headers()).containsEntry(Headers.NEXT_OFFSET, "0").containsEntry(Headers.MAX_OFFSET, "0");
            assertThat(tookMs).as("answered no earlier than its wait").isGreaterThanOrEqualTo(250);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void commitAndGetOffsets(String codec) throws IOException {
        String topic = "offsets-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 1);
            for (int i = 0; i < 3; i++) {
                c.send(TestClient.message(topic, 0, utf8("m" + i)));
            }
            Command commit = c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, "billing").header(Headers.TOPIC, topic)
                    .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 2).build());
            assertThat(commit.status()).as(commit.message()).isEqualTo(Status.OK);

            Command committed = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.GROUP, "billing").build());
            assertThat(committed.headers()).containsEntry(Headers.OFFSET, "2").containsEntry(Headers.MIN_OFFSET, "0")
                    .containsEntry(Headers.MAX_OFFSET, "3");

            Command none = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.GROUP, "nobody").build());
            assertThat(none.header(Headers.OFFSET)).isEqualTo("-1");

            Command byTime = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.TIMESTAMP, 0).build());
            assertThat(byTime.header(Headers.OFFSET)).isEqualTo("0");
            Command future = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.TIMESTAMP, Long.MAX_VALUE).build());
            assertThat(future.header(Headers.OFFSET)).isEqualTo("3");

            Command bounds = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0).build());
            assertThat(bounds.headers()).doesNotContainKey(Headers.OFFSET).containsEntry(Headers.MAX_OFFSET, "3");
            Command noSuchQueue = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 99).build());
            assertThat(noSuchQueue.status()).as("not offsets 0 to 0 of a queue that is not there").isEqualTo(Status.BAD_REQUEST);
            assertThat(noSuchQueue.message()).contains("queueId: 99");

            Command beyond = c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, "billing").header(Headers.TOPIC, topic)
                    .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 4).build());
            assertThat(beyond.status()).isEqualTo(Status.OFFSET_OUT_OF_RANGE);
            assertThat(beyond.headers()).containsEntry(Headers.MIN_OFFSET, "0").containsEntry(Headers.MAX_OFFSET, "3");
        }
    }

    /**
     * COMMIT_OFFSET stores under a group's name or a broadcasting member's GROUP%CLIENT_ID only: a
     * name that is neither (a lone %, two of them, an empty half, a name over 128 characters) was
     * stored, and no LIST_GROUPS, DESCRIBE_GROUP or DELETE_GROUP could ever see or remove it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void aCommitUnderANameThatIsNoGroupNorMemberIsRefusedAndStoresNothing(String codec) throws IOException {
        String topic = "offset-names-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 1);
            c.send(TestClient.message(topic, 0, utf8("m")));
            for (String name : List.of("%", "a%b%c", "g%", "%c", "g".repeat(129), "g".repeat(127) + "%" + "c".repeat(129))) {
                Command refused = c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, name).header(Headers.TOPIC, topic)
                        .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 1).build());
                assertThat(refused.status()).as("group '%s': %s", name, refused.message()).isEqualTo(Status.BAD_REQUEST);
                assertThat(refused.message()).startsWith("group: '" + name + "' (expected: a group's name");
                Command read = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                        .header(Headers.GROUP, name).build());
                assertThat(read.header(Headers.OFFSET)).as("stored under '%s'", name).isEqualTo("-1");
            }
            for (String name : List.of("g".repeat(128), "g".repeat(128) + "%" + "c".repeat(128), "billing%member-1")) {
                Command taken = c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, name).header(Headers.TOPIC, topic)
                        .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 1).build());
                assertThat(taken.status()).as("group '%s': %s", name, taken.message()).isEqualTo(Status.OK);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void heartbeatsIncludingOneWay(String codec) throws IOException {
        try (TestClient c = server.connect(codec)) {
            Command r = c.call(c.request(RequestCode.HEARTBEAT).header(Headers.CLIENT_ID, "billing-7f3a").build());
            assertThat(r.status()).isEqualTo(Status.OK);
            assertThat(r.kind()).isEqualTo(Kind.RESPONSE);
            c.write(Command.oneway(RequestCode.HEARTBEAT, c.nextId()).header(Headers.CLIENT_ID, "x").build());
            Command next = c.request(RequestCode.HEARTBEAT).build();
            assertThat(c.call(next).requestId()).as("a one-way command gets no response").isEqualTo(next.requestId());
        }
    }

    /**
     * A query that matches more than a frame can carry answers with what fits in half of one, as a
     * FETCH does, newest first for a key. Before, six 3 MiB messages with one key came back as one
     * 18 MiB frame, which a client (16 MiB frames at most) cannot read.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void queriesMatchingMoreThanAFrameAnswerWithWhatFits(String codec) throws IOException {
        String topic = "big-query-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 1);
            long before = System.currentTimeMillis();
            for (int i = 0; i < 6; i++) {
                byte[] body = new byte[3 << 20];
                Arrays.fill(body, (byte) ('a' + i));
                assertThat(c.send(Message.builder(topic).queueId(0).keys(List.of("big")).body(body).build()).status()).isEqualTo(Status.OK);
            }
            long after = System.currentTimeMillis() + 1;

            Command byKey = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic).header(Headers.KEY, "big").build());
            assertThat(byKey.status()).as(byKey.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(byKey)).extracting(f -> (char) f.body()[0]).as("newest first, 8 MiB at most").containsExactly('f', 'e');

            Command byTime = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic)
                    .header(Headers.BEGIN_TIMESTAMP, before).header(Headers.END_TIMESTAMP, after).build());
            assertThat(byTime.status()).as(byTime.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(byTime)).extracting(f -> (char) f.body()[0]).containsExactly('a', 'b');
        }
    }

    /**
     * A FETCH returns half a frame of records at most, but JSON writes each control character of
     * a property value as a six-character escape: records of such values encode to more than a
     * frame. The client gets LIMIT_EXCEEDED saying so (and reads with fewer messages), not a frame
     * longer than it accepts.
     */
    @Test
    void anAnswerThatWouldEncodeLongerThanAFrameIsAnError() throws IOException {
        String topic = "escapes";
        String controls = "\u0001".repeat(30_000);
        try (TestClient binary = server.connect("binary"); TestClient json = server.connect("json")) {
            binary.createTopic(topic, 1);
            for (int i = 0; i < 300; i++) {
                Command r = binary.send(Message.builder(topic).queueId(0).properties(Map.of("p", controls)).body(utf8("m" + i)).build());
                assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
            }
            Command all = json.call(json.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 1000).header(Headers.MAX_BYTES, 16 << 20).build());
            assertThat(all.status()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(all.message()).contains("response:").contains("maxFrameBytes");
            Command few = json.fetch(topic, 0, 0, 10);
            assertThat(few.status()).as(few.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(few)).hasSize(10);
        }
    }

    /**
     * docs/OPERATIONS.md: keep {@code limits.record.body.bytes} below about 2/3 of
     * {@code limits.frame.bytes}. JSON writes a UTF-8 body as text as long as escaping makes it at
     * most 1.5 times longer (a JSON document, half of it quotes, stays text), so a body of 3/4 of
     * a frame, which the docs said was safe, is answered LIMIT_EXCEEDED to a JSON consumer asking
     * for one message, and it can never read past it; one just under 2/3 of a frame is fetched.
     */
    @Test
    void aJsonConsumerFetchesABodyOfTwoThirdsOfAFrameButNotOneOfThreeQuarters(@TempDir Path own) throws IOException {
        int frame = 64 * 1024;
        dev.ferry.protocol.Limits limits = dev.ferry.protocol.Limits.builder().maxFrameBytes(frame).build();
        try (TestServer small = TestServer.start(own, log -> log.maxBodyBytes(frame * 3 / 4), gw -> gw.limits(limits));
             TestClient binary = small.connect("binary"); TestClient json = small.connect("json")) {
            binary.createTopic("quoted", 1);
            String quoted = "\"a\","; // as much quoting as JSON text of short strings has: 1.5 times as long escaped
            byte[] twoThirds = utf8(quoted.repeat((frame * 2 / 3 - 1024) / quoted.length()));
            byte[] threeQuarters = utf8(quoted.repeat((frame * 3 / 4 - 1024) / quoted.length()));
            for (byte[] body : List.of(twoThirds, threeQuarters)) {
                Command r = binary.send(Message.builder("quoted").queueId(0).body(body).build());
                assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
            }
            Command first = json.fetch("quoted", 0, 0, 1);
            assertThat(first.status()).as(first.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(first)).singleElement().satisfies(f -> assertThat(f.body()).isEqualTo(twoThirds));
            Command second = json.fetch("quoted", 0, 1, 1);
            assertThat(second.status()).as("a 3/4-frame body, fetched alone").isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(second.message()).contains("maxFrameBytes " + frame);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void queryByIdKeyAndTimeRange(String codec) throws IOException {
        String topic = "query-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 2);
            long before = System.currentTimeMillis();
            String id = c.send(Message.builder(topic).queueId(0).keys(List.of("k-1")).body(utf8("first")).build())
                    .header(Headers.MSG_ID);
            c.send(Message.builder(topic).queueId(1).keys(List.of("k-2")).body(utf8("second")).build());
            long after = System.currentTimeMillis() + 1;

            Command byId = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.MSG_ID, id).build());
            assertThat(byId.status()).as(byId.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(byId)).singleElement().satisfies(f -> {
                assertThat(f.msgId()).isEqualTo(id);
                assertThat(f.body()).isEqualTo(utf8("first"));
                assertThat(f.topic()).isEqualTo(topic);
            });

            Command byKey = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic).header(Headers.KEY, "k-2").build());
            assertThat(TestClient.fetched(byKey)).extracting(f -> new String(f.body(), StandardCharsets.UTF_8)).containsExactly("second");

            Command byTime = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic)
                    .header(Headers.BEGIN_TIMESTAMP, before).header(Headers.END_TIMESTAMP, after).build());
            assertThat(TestClient.fetched(byTime)).extracting(f -> new String(f.body(), StandardCharsets.UTF_8))
                    .containsExactlyInAnyOrder("first", "second");
            Command earlier = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic)
                    .header(Headers.BEGIN_TIMESTAMP, 0).header(Headers.END_TIMESTAMP, before - 1).build());
            assertThat(TestClient.fetched(earlier)).isEmpty();

            Command unknownId = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.MSG_ID, "00000000FFFFFFFF").build());
            assertThat(unknownId.status()).isEqualTo(Status.NOT_FOUND);
            Command garbledId = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.MSG_ID, "not-an-id").build());
            assertThat(garbledId.status()).isEqualTo(Status.BAD_REQUEST);
            Command nothing = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic).build());
            assertThat(nothing.status()).isEqualTo(Status.BAD_REQUEST);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void errorStatuses(String codec) throws IOException {
        String topic = "errors-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 1);
            c.send(TestClient.message(topic, 0, utf8("only")));

            Command missingTopic = c.fetch("no-such-" + codec, 0, 0, 1);
            assertThat(missingTopic.status()).isEqualTo(Status.NOT_FOUND);
            assertThat(missingTopic.message()).contains("no-such-" + codec);

            Command noOffset = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0).build());
            assertThat(noOffset.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(noOffset.message()).contains(Headers.OFFSET);

            Command garbled = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, "zero")
                    .header(Headers.OFFSET, 0).build());
            assertThat(garbled.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(garbled.message()).contains(Headers.QUEUE_ID).contains("zero");

            Command wideQueue = c.call(c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 1L << 32)
                    .header(Headers.OFFSET, 0).build());
            assertThat(wideQueue.status()).as("a queue id beyond 32 bits is not queue 0").isEqualTo(Status.BAD_REQUEST);

            Command createNoName = c.call(c.request(RequestCode.CREATE_TOPIC).header(Headers.QUEUES, 1).build());
            assertThat(createNoName.status()).isEqualTo(Status.BAD_REQUEST);

            Command outOfRange = c.fetch(topic, 0, 99, 1);
            assertThat(outOfRange.status()).isEqualTo(Status.OFFSET_OUT_OF_RANGE);
            assertThat(outOfRange.headers()).containsEntry(Headers.MIN_OFFSET, "0").containsEntry(Headers.MAX_OFFSET, "1");
            assertThat(outOfRange.status().retryable()).isFalse();

            Command badTopic = c.send(TestClient.message("bad topic!", -1, utf8("x")));
            assertThat(badTopic.status()).as("auto-create refuses the name").isEqualTo(Status.BAD_REQUEST);
            assertThat(badTopic.message()).contains("bad topic!");

            Map<String, String> tooMany = new LinkedHashMap<>();
            for (int i = 0; i <= BROKER_MAX_PROPERTIES; i++) {
                tooMany.put("p" + i, "v");
            }
            Command tooManyProps = c.send(Message.builder(topic).queueId(0).properties(tooMany).body(utf8("x")).build());
            assertThat(tooManyProps.status()).as("the broker's property limit is below the wire's").isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(tooManyProps.message()).contains("properties");
            Command spacedKey = c.send(Message.builder(topic).queueId(0).keys(List.of("order 1")).body(utf8("x")).build());
            assertThat(spacedKey.status()).as("malformed, not over a limit").isEqualTo(Status.BAD_REQUEST);
            assertThat(spacedKey.message()).contains("key: 'order 1'");

            Command wrongQueue = c.send(TestClient.message(topic, 5, utf8("x")));
            assertThat(wrongQueue.status()).isEqualTo(Status.BAD_REQUEST);

            Command delayed = c.send(Message.builder(topic).queueId(0).deliverAt(System.currentTimeMillis() + 60_000).body(utf8("x")).build());
            assertThat(delayed.status()).isEqualTo(Status.OK);
            assertThat(delayed.header(Headers.QUEUE_OFFSET)).as("a delayed message has no queue offset yet").isEqualTo("-1");
            Command tooFar = c.send(Message.builder(topic).queueId(0).deliverAt(System.currentTimeMillis() + 31L * 24 * 3600 * 1000)
                    .body(utf8("x")).build());
            assertThat(tooFar.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(tooFar.message()).contains("deliverAt").contains("maxDelayMs");

            Command mixedBatch = c.call(c.request(RequestCode.SEND_BATCH).messages(List.of(TestClient.message(topic, 0, utf8("a")),
                    TestClient.message(topic + "-other", 0, utf8("b")))).build());
            assertThat(mixedBatch.status()).isEqualTo(Status.BAD_REQUEST);

            Command asResponse = c.call(Command.builder().kind(Kind.RESPONSE).code(RequestCode.HEARTBEAT).requestId(c.nextId()).build());
            assertThat(asResponse.status()).isEqualTo(Status.BAD_REQUEST);

            Command stillThere = c.fetch(topic, 0, 0, 10);
            assertThat(TestClient.fetched(stillThere)).as("nothing refused was stored").hasSize(1);
        }
    }

    /**
     * A negative queueId other than -1 is a client's bug, not "the broker chooses": refused, and
     * an unknown topic is not auto-created for it. docs/PROTOCOL.md, "Request codes".
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void aNegativeQueueIdOtherThanMinusOneIsRefused(String codec) throws IOException {
        String topic = "negq-" + codec;
        try (TestClient c = server.connect(codec)) {
            Command unknownTopic = c.send(TestClient.message(topic + "-new", -2, utf8("x")));
            assertThat(unknownTopic.status()).as(unknownTopic.message()).isEqualTo(Status.BAD_REQUEST);
            assertThat(unknownTopic.message()).startsWith("queueId: -2 (expected: -1 for the broker's choice, or ");
            Command notCreated = c.call(c.request(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, topic + "-new").build());
            assertThat(notCreated.status()).as("a refused send creates no topic").isEqualTo(Status.NOT_FOUND);

            c.createTopic(topic, 2);
            Command single = c.send(TestClient.message(topic, -2, utf8("x")));
            assertThat(single.status()).as(single.message()).isEqualTo(Status.BAD_REQUEST);
            assertThat(single.message()).isEqualTo("queueId: -2 (expected: -1 for the broker's choice, or 0..1 for topic " + topic + ")");
            Command batch = c.call(c.request(RequestCode.SEND_BATCH).messages(List.of(TestClient.message(topic, Integer.MIN_VALUE,
                    utf8("a")), TestClient.message(topic, Integer.MIN_VALUE, utf8("b")))).build());
            assertThat(batch.status()).as(batch.message()).isEqualTo(Status.BAD_REQUEST);
            assertThat(batch.message()).startsWith("queueId: " + Integer.MIN_VALUE + " (expected: -1 for the broker's choice");

            Command chosen = c.send(TestClient.message(topic, -1, utf8("y")));
            assertThat(chosen.status()).as(chosen.message()).isEqualTo(Status.OK);
            Command described = c.call(c.request(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, topic).build());
            assertThat(new String(TestClient.bytes(described.body()), StandardCharsets.UTF_8)).as("only the -1 send was stored")
                    .isEqualTo(chosen.header(Headers.QUEUE_ID).equals("0") ? "0 0 1\n1 0 0\n" : "0 0 0\n1 0 1\n");
        }
    }

    /**
     * A negative offset in FETCH or COMMIT_OFFSET is BAD_REQUEST, not OFFSET_OUT_OF_RANGE "deleted
     * by retention" (which sends a client to minOffset); RESET_OFFSETS still clamps one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void aNegativeOffsetIsABadRequest(String codec) throws IOException {
        String topic = "nego-" + codec;
        try (TestClient c = server.connect(codec)) {
            c.createTopic(topic, 1);
            c.send(TestClient.message(topic, 0, utf8("m")));

            Command fetch = c.fetch(topic, 0, -1, 10);
            assertThat(fetch.status()).as(fetch.message()).isEqualTo(Status.BAD_REQUEST);
            assertThat(fetch.message()).isEqualTo("offset: -1 (expected: >= 0)");
            Command commit = c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, "nego").header(Headers.TOPIC, topic)
                    .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, Long.MIN_VALUE).build());
            assertThat(commit.status()).as(commit.message()).isEqualTo(Status.BAD_REQUEST);
            assertThat(commit.message()).isEqualTo("offset: " + Long.MIN_VALUE + " (expected: >= 0)");
            Command none = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.GROUP, "nego").build());
            assertThat(none.header(Headers.OFFSET)).as("nothing committed").isEqualTo("-1");

            Command past = c.fetch(topic, 0, 2, 10);
            assertThat(past.status()).as("past the end stays out of range").isEqualTo(Status.OFFSET_OUT_OF_RANGE);

            Command reset = c.call(c.request(RequestCode.RESET_OFFSETS).header(Headers.GROUP, "nego").header(Headers.TOPIC, topic)
                    .header(Headers.TO, "offset").header(Headers.OFFSET, -5).build());
            assertThat(reset.status()).as(reset.message()).isEqualTo(Status.OK);
            assertThat(new String(TestClient.bytes(reset.body()), StandardCharsets.UTF_8)).as("clamped to the queue's first offset")
                    .isEqualTo("0 0\n");
        }
    }

    /** QUERY_MESSAGE returns at most maxMessagesPerCommand messages, whatever maxMessages asks (as FETCH). */
    @Test
    void queryMessageIsClampedToTheMessagesPerCommandLimit(@TempDir Path own) throws IOException {
        try (TestServer small = TestServer.start(own, log -> log,
                gw -> gw.limits(dev.ferry.protocol.Limits.builder().maxMessagesPerCommand(5).build()));
             TestClient c = small.connect("json")) {
            String topic = "qclamp";
            c.createTopic(topic, 1);
            for (int i = 0; i < 8; i++) {
                c.send(Message.builder(topic).queueId(0).keys(List.of("same")).body(utf8("m" + i)).build());
            }
            Command byKey = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic).header(Headers.KEY, "same")
                    .header(Headers.MAX_MESSAGES, 100_000).build());
            assertThat(byKey.status()).as(byKey.message()).isEqualTo(Status.OK);
            assertThat(byKey.messages()).hasSize(5);
            Command byTime = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic).header(Headers.BEGIN_TIMESTAMP, 0)
                    .header(Headers.END_TIMESTAMP, Long.MAX_VALUE).header(Headers.MAX_MESSAGES, 100_000).build());
            assertThat(byTime.messages()).hasSize(5);
            Command fetch = c.fetch(topic, 0, 0, 100_000);
            assertThat(TestClient.fetched(fetch)).as("as FETCH").hasSize(5);
        }
    }
}
