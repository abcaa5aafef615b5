package dev.ferry.log;

import java.nio.file.Path;

/** A record failed its checks where the store expected a whole one. */
public final class CorruptRecordException extends LogException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final long physicalOffset;

    public CorruptRecordException(Path file, long physicalOffset, String reason) {
        super(file == null ? reason : file + " @" + physicalOffset + ": " + reason);
        this.file = file;
        this.physicalOffset = physicalOffset;
    }

    public Path file() { return file; }
    public long physicalOffset() { return physicalOffset; }
}
