package dev.ferry.connect.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins the wire and file layouts to the byte tables of ShipProtocol, Manifest and docs/CONNECTORS.md. */
class ShipLayoutTest {
    @TempDir
    Path tmp;

    private static String hex(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return HexFormat.of().formatHex(a);
    }

    @Test
    void protocolMessages() {
        assertThat(hex(ShipProtocol.hello())).isEqualTo("46534850" + "0001");
        assertThat(hex(ShipProtocol.file("commitlog/00000000000001048576", 1 << 20, true))).isEqualTo(
                "01" + "001e" + HexFormat.of().formatHex("commitlog/00000000000001048576".getBytes()) + "0000000000100000");
        assertThat(hex(ShipProtocol.resume(ShipProtocol.STATE_SEND, 300_000, 0))).isEqualTo("00" + "00000000000493e0" + "00000000");
        assertThat(hex(ShipProtocol.crc(0xCAFEBABE))).isEqualTo("cafebabe");
        assertThat(hex(ShipProtocol.result(ShipProtocol.STATUS_BAD, 0x01020304))).isEqualTo("01" + "01020304");
        assertThat(ShipProtocol.RESUME_SIZE).isEqualTo(13);
        assertThat(ShipProtocol.RESULT_SIZE).isEqualTo(5);
        assertThat(ShipProtocol.FILE_NAME_OFFSET).isEqualTo(3);
    }

    @Test
    void checkpointOffsetsMatchDocsStorage() {
        assertThat(SealedFiles.CHECKPOINT_LOG_FLUSHED_OFFSET).isEqualTo(8);
        assertThat(SealedFiles.CHECKPOINT_INDEX_FLUSHED_OFFSET).isEqualTo(16);
        assertThat(SealedFiles.CHECKPOINT_CRC_OFFSET).isEqualTo(32);
        assertThat(SealedFiles.CHECKPOINT_SIZE).as("version 1; version 2 ends with its CRC").isEqualTo(36);
        assertThat(SealedFiles.CHECKPOINT_VERSION).isEqualTo((short) 2);
        assertThat(SealedFiles.INDEX_ENTRY_SIZE_OFFSET).isEqualTo(8);
    }

    @Test
    void manifestTextAndTornLine() throws Exception {
        Manifest m = Manifest.open(tmp);
        m.add(new Manifest.Entry("commitlog/00000000000000000000", 1048576, OptionalInt.of(0x1a2b3c4d)));
        m.add(new Manifest.Entry("index/orders/3/00000000000000001000", 20016, OptionalInt.empty()));
        m.close();
        assertThat(Files.readString(tmp.resolve(Manifest.FILE))).isEqualTo("""
                ferry-ship-manifest 1
                commitlog/00000000000000000000 1048576 1a2b3c4d
                index/orders/3/00000000000000001000 20016 -
                """);
        Files.writeString(tmp.resolve(Manifest.FILE), "keyindex/00000000000000000000 12", java.nio.file.StandardOpenOption.APPEND);
        Manifest again = Manifest.open(tmp);
        assertThat(again.entries()).containsOnlyKeys("commitlog/00000000000000000000", "index/orders/3/00000000000000001000");
        assertThat(again.get("commitlog/00000000000000000000").orElseThrow().crc()).hasValue(0x1a2b3c4d);
        again.close();
        assertThat(Files.readString(tmp.resolve(Manifest.FILE))).as("the torn line is cut off").endsWith(" 20016 -\n");
    }

    @Test
    void aManifestTailOfNulBytesIsCutLikeATornLine() throws Exception {
        Manifest m = Manifest.open(tmp, false);
        m.add(new Manifest.Entry("commitlog/00000000000000000000", 1048576, OptionalInt.of(0x1a2b3c4d)));
        m.close();
        // after a power loss without forces: the length of two more lines reached the disk, their bytes did not
        Files.write(tmp.resolve(Manifest.FILE), new byte[120], java.nio.file.StandardOpenOption.APPEND);
        assertThat(Manifest.read(tmp)).as("read-only: the same view").containsOnlyKeys("commitlog/00000000000000000000");
        Manifest again = Manifest.open(tmp, false);
        assertThat(again.entries()).containsOnlyKeys("commitlog/00000000000000000000");
        again.add(new Manifest.Entry("commitlog/00000000000001048576", 1048576, OptionalInt.of(7)));
        again.close();
        assertThat(Files.readString(tmp.resolve(Manifest.FILE))).isEqualTo("ferry-ship-manifest 1\n"
                + "commitlog/00000000000000000000 1048576 1a2b3c4d\n"
                + "commitlog/00000000000001048576 1048576 00000007\n");
    }

    @Test
    void namesFromTheWireAreConfinedToTheLayout() {
        assertThat(ShipFile.isValidName("commitlog/00000000000000000000")).isTrue();
        assertThat(ShipFile.isValidName("index/%RETRY%g1/12/00000000000000000000")).isTrue();
        assertThat(ShipFile.isValidName("keyindex/00000000000000000000")).isTrue();
        assertThat(ShipFile.isValidName("index/../0/00000000000000000000")).isFalse();
        assertThat(ShipFile.isValidName("index/./0/00000000000000000000")).isFalse();
        assertThat(ShipFile.isValidName("/etc/passwd")).isFalse();
        assertThat(ShipFile.isValidName("commitlog/0000000000000000000")).isFalse();
        assertThat(ShipFile.isValidName("checkpoint")).isFalse();
    }
}
