package dev.ferry.log;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.nio.file.Path;

/**
 * The child process of {@link RecoveryKillTest}: prints {@code OPENING}, opens the store of
 * {@link HoldingWriter#config} (whose recovery writes back what the staging ring holds), prints
 * {@code OPENED}, and waits to be killed, which may come at any point of the open.
 *
 * <p>Usage: {@code RecoveringOpener DIR}. It exits by itself (status 3) after 60 s.
 */
public final class RecoveringOpener {
    private RecoveringOpener() {}

    public static void main(String[] args) throws Exception {
        StoreTestSupport.exitAfterAMinute();
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        StoreTestSupport.emit(out, "OPENING\n");
        MessageStore store = MessageStore.open(HoldingWriter.config(Path.of(args[0])));
        StoreTestSupport.emit(out, "OPENED " + store.recoveryReport().recordsRestored() + "\n");
        Thread.sleep(Long.MAX_VALUE);
    }
}
