package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The delayed-delivery bookkeeping when retention deleted schedule offsets that were never
 * delivered: what a user relies on is that the watermark moves past them (else it would stay there
 * for good, and with it every bitmap chunk after it, across restarts), and past what was delivered
 * right after them, and that it stays there after a reopen.
 */
class DeliveredLogTest {
    @TempDir
    Path dir;

    @Test
    void forgettingWhatRetentionDeletedMovesTheWatermarkAndDropsTheChunksBelowIt() throws IOException {
        try (DeliveredLog log = new DeliveredLog(dir, 64)) {
            log.markDelivered(1); // offset 0 is not: the watermark stays at 0
            log.markDelivered(130);
            log.markDelivered(131);
            assertThat(log.lowWatermark()).isZero();
            assertThat(chunkFiles()).containsExactly("00000000000000000000", "00000000000000000128");

            log.forgetBelow(130); // retention deleted the schedule topic below 130
            assertThat(log.lowWatermark()).as("past what was deleted and what was delivered after it").isEqualTo(132);
            assertThat(chunkFiles()).as("chunks wholly below the watermark are gone").containsExactly("00000000000000000128");
            assertThat(log.isDelivered(5)).isTrue();
            assertThat(log.isDelivered(132)).isFalse();

            log.forgetBelow(100);
            assertThat(log.lowWatermark()).as("a minimum below the watermark changes nothing").isEqualTo(132);
        }
        try (DeliveredLog reopened = new DeliveredLog(dir, 64)) {
            assertThat(reopened.lowWatermark()).as("after a reopen").isEqualTo(132);
        }
    }

    private List<String> chunkFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("delivered"))) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
