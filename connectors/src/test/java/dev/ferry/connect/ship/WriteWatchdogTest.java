package dev.ferry.connect.ship;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The watchdog's rule on a hand-moved clock: the test runs {@link WriteWatchdog#check} itself.
 * The timeout is 60 s and the timer's own checks wait in real time, so they do not run while a
 * test does (and would find the same thing if they did).
 */
class WriteWatchdogTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final ManualClock clock = new ManualClock();
    private final WriteWatchdog watchdog = new WriteWatchdog(TIMEOUT, clock, "test-watchdog");
    private final AtomicInteger stalls = new AtomicInteger();

    @AfterEach
    void close() {
        watchdog.close();
    }

    @Test
    void aWriteWithoutProgressStallsOnceTheTimeoutPassed() {
        WriteWatchdog.Watch w = watchdog.watch(stalls::incrementAndGet);
        clock.advance(TIMEOUT.minusMillis(1));
        watchdog.check();
        assertThat(stalls).as("1 ms before the deadline").hasValue(0);
        clock.advance(Duration.ofMillis(1));
        watchdog.check();
        assertThat(stalls).as("at the deadline").hasValue(1);
        watchdog.check();
        assertThat(stalls).as("onStall runs once").hasValue(1);
        assertThat(w.end()).as("end() reports the stall").isTrue();
        assertThat(w.end()).as("idempotent").isTrue();
    }

    @Test
    void progressMovesTheDeadline() {
        WriteWatchdog.Watch w = watchdog.watch(stalls::incrementAndGet);
        for (int i = 0; i < 10; i++) { // ten timeouts in all, never one without progress
            clock.advance(TIMEOUT.minusSeconds(1));
            watchdog.check();
            w.progress();
        }
        assertThat(stalls).as("a slow write that keeps moving").hasValue(0);
        clock.advance(TIMEOUT.minusMillis(1));
        watchdog.check();
        assertThat(stalls).hasValue(0);
        clock.advance(Duration.ofMillis(1));
        watchdog.check();
        assertThat(stalls).as("a timeout after the last progress").hasValue(1);
        assertThat(w.end()).isTrue();
    }

    @Test
    void aPauseDoesNotCountAndResumeStartsAFullTimeout() {
        WriteWatchdog.Watch w = watchdog.watch(stalls::incrementAndGet);
        clock.advance(TIMEOUT.minusSeconds(1));
        w.pause();
        clock.advance(TIMEOUT.multipliedBy(5));
        watchdog.check();
        assertThat(stalls).as("paused (waiting for the rate limit)").hasValue(0);
        w.resume();
        clock.advance(TIMEOUT.minusMillis(1));
        watchdog.check();
        assertThat(stalls).hasValue(0);
        clock.advance(Duration.ofMillis(1));
        watchdog.check();
        assertThat(stalls).hasValue(1);
        assertThat(w.end()).isTrue();
    }

    @Test
    void anEndedWriteNeverStallsAndTheNextIsWatchedFromItsOwnStart() {
        WriteWatchdog.Watch first = watchdog.watch(stalls::incrementAndGet);
        clock.advance(TIMEOUT.minusSeconds(1));
        assertThat(first.end()).as("ended in time").isFalse();
        clock.advance(TIMEOUT.multipliedBy(2));
        watchdog.check();
        assertThat(stalls).as("nothing watched").hasValue(0);

        AtomicInteger secondStalls = new AtomicInteger();
        WriteWatchdog.Watch second = watchdog.watch(secondStalls::incrementAndGet);
        clock.advance(TIMEOUT.minusMillis(1));
        watchdog.check();
        assertThat(secondStalls).hasValue(0);
        clock.advance(Duration.ofMillis(1));
        watchdog.check();
        assertThat(secondStalls).hasValue(1);
        assertThat(stalls).as("the first write's action is not run for the second").hasValue(0);
        assertThat(second.end()).isTrue();
        assertThat(first.end()).as("still not stalled").isFalse();
    }

    @Test
    void oneWriteAtATime() {
        WriteWatchdog.Watch w = watchdog.watch(stalls::incrementAndGet);
        assertThatThrownBy(() -> watchdog.watch(stalls::incrementAndGet)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already watched");
        w.end();
        watchdog.watch(stalls::incrementAndGet).end();
    }

    @Test
    void theTimerChecksByItself() throws InterruptedException {
        // the only test on real time: a 50 ms timeout and no progress; bounded by await, not a sleep
        try (WriteWatchdog real = new WriteWatchdog(Duration.ofMillis(50), Clock.systemUTC(), "test-watchdog-real")) {
            WriteWatchdog.Watch w = real.watch(stalls::incrementAndGet);
            ShipTestSupport.await(Duration.ofSeconds(30), "the timer to run onStall", () -> stalls.get() == 1);
            assertThat(w.end()).isTrue();
        }
    }

    /** A clock the test moves by hand. */
    private static final class ManualClock extends Clock {
        private final AtomicLong millis = new AtomicLong(1_000_000);

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("not needed");
        }
    }
}
