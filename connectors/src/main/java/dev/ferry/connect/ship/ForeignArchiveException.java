package dev.ferry.connect.ship;

/**
 * The target already holds a file of the same name and length as a sealed source file, but
 * with another checksum: it is (most likely) another store's archive, or the broker's data
 * directory was re-initialised. Shipping into it would silently ship nothing, so the shipping
 * task fails instead (not retried: an operator has to pick another archive or move this one).
 * Immutable.
 */
final class ForeignArchiveException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    ForeignArchiveException(String target, String name, int archivedCrc, int sourceCrc) {
        super(target + " holds a different " + name + " (crc " + Checksums.hex(archivedCrc) + ", source crc "
                + Checksums.hex(sourceCrc) + "): another store's archive? Ship into an archive of this store's own, "
                + "or move that one away");
    }
}
