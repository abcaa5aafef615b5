package dev.ferry.connect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.FerryException;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;

/** Which failures restart a task: the broker or the database unreachable or busy, never a refused record or a bad statement. */
class RetriableTest {
    private static FerryException broker(Status status) {
        return new FerryException(FerryException.Reason.BROKER, status, "SEND_BATCH t-0: " + status, null);
    }

    private static IllegalStateException sendFailed(Throwable cause) {
        return new IllegalStateException("send failed: " + cause.getMessage(), cause); // as SourceWorker.settle wraps it
    }

    @Test
    void ioErrorsAndLostConnectionsAreRetried() {
        assertThat(Retriable.failure(new IOException("disk"))).isTrue();
        assertThat(Retriable.failure(new UncheckedIOException(new IOException("read")))).isTrue();
        assertThat(Retriable.failure(sendFailed(new FerryException(FerryException.Reason.CONNECTION, null, "connection lost", null))))
                .isTrue();
        assertThat(Retriable.failure(sendFailed(new FerryException(FerryException.Reason.TIMEOUT, null, "no response", null))))
                .isTrue();
        assertThat(Retriable.failure(sendFailed(broker(Status.BUSY)))).isTrue();
        assertThat(Retriable.failure(sendFailed(broker(Status.INTERNAL_ERROR)))).as("a fetch that lost a race with retention").isTrue();
        assertThat(Retriable.failure(new FerryException(FerryException.Reason.CLIENT, Status.INTERNAL_ERROR,
                "FETCH lines/0: INTERNAL_ERROR: the record at offset 5 cannot be decoded", null))).as("a damaged record").isFalse();
    }

    @Test
    void aRecordTheBrokerRefusesIsNotRetried() {
        assertThat(Retriable.failure(sendFailed(broker(Status.BAD_REQUEST)))).as("a key with a space").isFalse();
        assertThat(Retriable.failure(sendFailed(broker(Status.LIMIT_EXCEEDED)))).as("a key over the limit").isFalse();
        assertThat(Retriable.failure(sendFailed(broker(Status.NOT_FOUND)))).as("no such topic").isFalse();
        assertThat(Retriable.failure(new FerryException(FerryException.Reason.CLIENT, null, "buffer full: ...", null)))
                .as("the client gave up: a record larger than its buffer").isFalse();
    }

    @Test
    void anUnreachableDatabaseAndTransientFailuresAreRetried() {
        assertThat(Retriable.failure(new SQLException("connection failure", "08006"))).isTrue();
        assertThat(Retriable.failure(new SQLException("the database system is shutting down", "57P01"))).isTrue();
        assertThat(Retriable.failure(new SQLTransientConnectionException("jdbc.url unreachable"))).isTrue();
        assertThat(Retriable.failure(new SQLException("Connection is broken: \"session closed\" [90067-252]", "90067", 90067)))
                .as("H2's TCP server stopped").isTrue();
        assertThat(Retriable.failure(new SQLException("URL format error [90046-252]", "90046", 90046))).isFalse();
        assertThat(Retriable.failure(new SQLException("I/O error", "XX000", new ConnectException("Connection refused")))).isTrue();
        assertThat(Retriable.failure(new IllegalStateException("write failed", new SQLException("gone", "08003")))).isTrue();

        assertThat(Retriable.failure(new SQLException("column \"x\" does not exist", "42703"))).as("unknown column").isFalse();
        assertThat(Retriable.failure(new SQLException("column is of type text[] but expression is of type character varying",
                "42804"))).as("type mismatch").isFalse();
        assertThat(Retriable.failure(new SQLException("permission denied for table t", "42501"))).as("privilege").isFalse();
        assertThat(Retriable.failure(new SQLException("no state"))).isFalse();
        assertThat(Retriable.failure(new SQLException("deadlock detected", "40P01"))).as("a deadlock").isTrue();
        assertThat(Retriable.failure(new SQLException("could not serialize access", "40001"))).as("a serialization failure").isTrue();
        assertThat(Retriable.failure(new SQLException("canceling statement due to statement timeout", "57014"))).isTrue();
        assertThat(Retriable.failure(new java.sql.SQLTransactionRollbackException("Deadlock found when trying to get lock")))
                .isTrue();
        assertThat(Retriable.failure(new SQLException("Lock wait timeout exceeded; try restarting transaction", "HY000", 1205)))
                .as("MariaDB's lock wait timeout").isTrue();
    }

    @Test
    void badRecordsConfigurationErrorsAndBugsAreNotRetried() {
        assertThat(Retriable.failure(new IllegalStateException("bad record (errors.tolerance=none): x",
                new BadRecordException("r", "x", new IOException("inside"))))).isFalse();
        assertThat(Retriable.failure(new ConnectConfigException("c", "jdbc.url", "refused", new SQLException("x", "08001"))))
                .isFalse();
        assertThat(Retriable.failure(new IllegalStateException("a bug"))).isFalse();
        assertThat(Retriable.failure(new IOException("wrapped", new OutOfMemoryError()))).isFalse();
    }
}
