package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broker as {@code ferry broker --metrics-port} wires it, over real sockets and HTTP: the counters follow the traffic. */
class MetricsEndpointTest {
    @TempDir
    Path dir;
    private BrokerServer server;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void start() throws IOException {
        int metricsPort;
        try (ServerSocket free = new ServerSocket(0)) {
            metricsPort = free.getLocalPort();
        }
        Map<String, BrokerSettings.Value> values = new LinkedHashMap<>();
        for (String[] kv : new String[][] {{"data.dir", dir.toString()}, {"listen.port", "0"}, {"metrics.port", Integer.toString(metricsPort)},
                {"segment.bytes", Integer.toString(8 << 20)}, {"segment.pretouch", "false"}, {"flush.mode", "sync"}}) {
            values.put(kv[0], new BrokerSettings.Value(kv[1], "test"));
        }
        server = BrokerServer.start(BrokerSettings.from(values));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.metricsPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private String scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        return r.body();
    }

    /** The value of the sample {@code series} (name and labels exactly as exposed), failing if it is absent. */
    private static double sample(String text, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
        assertThat(m.find()).as("sample " + series + " in:\n" + text).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static Command send(WireClient c, String topic, int n) throws IOException {
        Command r = null;
        for (int i = 0; i < n; i++) {
            Message m = Message.builder(topic).queueId(0).bornTimestamp(1_700_000_000_000L).body(("m" + i).getBytes(StandardCharsets.UTF_8)).build();
            r = c.call(Command.request(RequestCode.SEND, c.nextId()).messages(List.of(m)).build());
            assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
        }
        return r;
    }

    @Test
    void countersGrowAsMessagesFlow() throws Exception {
        String before = scrape();
        assertThat(before).contains("# TYPE ferry_requests_seconds histogram").contains("ferry_log_flush_seconds_count");
        assertThat(before).doesNotContain("ferry_messages_in_total{topic=\"orders\"}");

        try (WireClient c = WireClient.connect(server.gateway().port(), "json")) {
            Command created = c.call(Command.request(RequestCode.CREATE_TOPIC, c.nextId()).header(Headers.TOPIC, "orders")
                    .header(Headers.QUEUES, 2).build());
            assertThat(created.status()).isEqualTo(Status.OK);
            send(c, "orders", 3);

            String first = scrape();
            assertThat(sample(first, "ferry_messages_in_total{topic=\"orders\"}")).isEqualTo(3);
            double bytes = sample(first, "ferry_bytes_in_total{topic=\"orders\"}");
            assertThat(bytes).as("stored record bytes").isGreaterThan(3 * 96);
            assertThat(sample(first, "ferry_requests_seconds_count{code=\"SEND\"}")).isEqualTo(3);
            assertThat(sample(first, "ferry_connections{codec=\"json\"}")).isEqualTo(1);
            assertThat(sample(first, "ferry_frames_buffered_bytes")).as("every request read is decoded").isZero();
            assertThat(sample(first, "ferry_frames_waiting_connections")).isZero();
            assertThat(sample(first, "ferry_log_fsyncs_total")).as("sync flush: one fsync per acknowledged send at least").isGreaterThanOrEqualTo(1);
            assertThat(sample(first, "ferry_log_written_offset")).isEqualTo(bytes);
            assertThat(sample(first, "ferry_log_flushed_offset")).isEqualTo(bytes);

            send(c, "orders", 4);
            Command fetched = c.call(Command.request(RequestCode.FETCH, c.nextId()).header(Headers.TOPIC, "orders")
                    .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 5).build());
            assertThat(fetched.messages()).hasSize(5);
            Command committed = c.call(Command.request(RequestCode.COMMIT_OFFSET, c.nextId()).header(Headers.GROUP, "billing")
                    .header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 5).build());
            assertThat(committed.status()).isEqualTo(Status.OK);
            Command missing = c.call(Command.request(RequestCode.FETCH, c.nextId()).header(Headers.TOPIC, "nope")
                    .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 0).build());
            assertThat(missing.status()).isEqualTo(Status.NOT_FOUND);

            String second = scrape();
            assertThat(sample(second, "ferry_messages_in_total{topic=\"orders\"}")).isEqualTo(7);
            assertThat(sample(second, "ferry_messages_out_total{topic=\"orders\"}")).isEqualTo(5);
            assertThat(sample(second, "ferry_consumer_lag{group=\"billing\",queue=\"0\",topic=\"orders\"}")).isEqualTo(2);
            assertThat(sample(second, "ferry_errors_total{kind=\"request\",reason=\"NOT_FOUND\"}")).isEqualTo(1);
            assertThat(sample(second, "ferry_log_disk_bytes")).isEqualTo(8 << 20);
            assertThat(sample(second, "ferry_log_unindexed_bytes")).as("the index dispatcher's lag").isBetween(0.0, sample(second, "ferry_log_written_offset"));

            Command deleted = c.call(Command.request(RequestCode.DELETE_TOPIC, c.nextId()).header(Headers.TOPIC, "orders").build());
            assertThat(deleted.status()).isEqualTo(Status.OK);
            String third = scrape();
            assertThat(third).as("a deleted topic's meters").doesNotContain("topic=\"orders\"");
        }
        // the connection's close is seen by the server a moment later
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (sample(scrape(), "ferry_connections{codec=\"json\"}") != 0) {
            assertThat(System.nanoTime()).as("connection gauge back to 0 within 5 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /**
     * A group's lag counts only messages it can still read: a committed offset below the queue's
     * first offset (retention deleted the records, or the topic was deleted and created again)
     * counts from that first offset, as DESCRIBE_GROUP counts it. From the committed offset, the
     * gauge counted the deleted topic's records too.
     */
    @Test
    void lagCountsFromTheQueuesFirstOffset() throws Exception {
        try (WireClient c = WireClient.connect(server.gateway().port(), "json")) {
            send(c, "orders", 3);
            assertThat(c.call(Command.request(RequestCode.DELETE_TOPIC, c.nextId()).header(Headers.TOPIC, "orders").build()).status())
                    .isEqualTo(Status.OK);
            send(c, "orders", 2); // created again: it starts at offset 3
            Command committed = c.call(Command.request(RequestCode.COMMIT_OFFSET, c.nextId()).header(Headers.GROUP, "late")
                    .header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 0).build());
            assertThat(committed.status()).isEqualTo(Status.OK);
            assertThat(sample(scrape(), "ferry_consumer_lag{group=\"late\",queue=\"0\",topic=\"orders\"}")).isEqualTo(2);
        }
    }

    @Test
    void otherPathsAreNotFound() throws Exception {
        assertThat(get("/").statusCode()).isEqualTo(404);
        assertThat(get("/metricsx").statusCode()).isEqualTo(404);
    }
}
