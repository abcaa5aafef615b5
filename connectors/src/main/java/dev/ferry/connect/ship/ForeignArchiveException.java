package dev.ferry.connect.ship;

/**
 * The target already holds a file of the same name as a sealed source file, but with another
 * checksum (same length) or another length (its manifest line): it is (most likely) another
 * store's archive, or the broker's data directory was re-initialised (perhaps with another
 * {@code segmentBytes}), or an index was rebuilt with another {@code index.entries.per.file}. Shipping into it would silently ship nothing, or replace the archived
 * file, so the shipping task fails instead (not retried: an operator has to pick another archive
 * or move this one). Immutable.
 */
final class ForeignArchiveException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    ForeignArchiveException(String target, String name, int archivedCrc, int sourceCrc) {
        this(target, name, "crc " + Checksums.hex(archivedCrc) + ", source crc " + Checksums.hex(sourceCrc));
    }

    private ForeignArchiveException(String target, String name, String difference) {
        super(target + " holds a different " + name + " (" + difference + "): another store's archive? Ship into an "
                + "archive of this store's own, or move that one away");
    }

    /** The archive lists {@code name} with {@code archivedLength} bytes, the source has {@code sourceLength}. */
    static ForeignArchiveException length(String target, String name, long archivedLength, long sourceLength) {
        return new ForeignArchiveException(target, name, archivedLength + " bytes, source " + sourceLength
                + " bytes; segment.bytes or index.entries.per.file changed?");
    }
}
