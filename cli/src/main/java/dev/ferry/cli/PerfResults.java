package dev.ferry.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.AbstractHistogram;

/**
 * The final line of the client benchmarks, which scripts parse (shared/bench/peers/ferry.sh):
 * {@code RESULT key=value ...} with {@code records_per_s}, {@code mb_per_s} (MiB of record
 * payload per second, 1,048,576 B) and latency percentiles in milliseconds with fractions,
 * from a histogram recorded in microseconds. Stateless.
 */
final class PerfResults {
    private PerfResults() {
    }

    static String line(String workload, long records, long payloadBytes, double seconds, AbstractHistogram micros, String extra) {
        double rate = records / Math.max(seconds, 1e-9);
        double mib = payloadBytes / 1048576.0 / Math.max(seconds, 1e-9);
        return String.format(Locale.ROOT,
                "RESULT workload=%s records=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f avg_ms=%.3f p50_ms=%.3f p95_ms=%.3f"
                        + " p99_ms=%.3f p999_ms=%.3f max_ms=%.3f%s",
                workload, records, seconds, rate, mib, micros.getMean() / 1000.0, ms(micros, 50), ms(micros, 95), ms(micros, 99),
                ms(micros, 99.9), micros.getTotalCount() == 0 ? 0.0 : micros.getMaxValue() / 1000.0,
                extra.isEmpty() ? "" : " " + extra);
    }

    private static double ms(AbstractHistogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0.0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    /** {@code count} keys unique to one benchmark record, {@code k<record>-<n>}, as order ids are ({@code --keys}). */
    static List<String> keys(String record, int count) {
        List<String> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            out.add("k" + record + "-" + k);
        }
        return out;
    }

    /** A payload of {@code size} bytes of printable ASCII (valid UTF-8, so the JSON codec carries it as text, as Kafka's tool does). */
    static byte[] payload(int size, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) ('A' + r.nextInt(26));
        }
        return b;
    }
}
