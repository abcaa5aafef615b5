package dev.ferry.log;

/**
 * What opening the store found and did; logged at open and kept for tools and tests.
 *
 * @param crashed             the abort marker was there: the last run did not close cleanly
 * @param checkpointFound     a valid checkpoint was read
 * @param scanFrom            commit-log position the CRC scan started at
 * @param end                 end of the last whole record: where appends continue
 * @param recordsScanned      whole records verified and re-indexed
 * @param truncatedBytes      non-zero bytes after {@code end} that were zeroed (a torn tail), 0 if none
 * @param truncateReason      why the log ends where it does: the scan stopped at a torn record, an append batch had no
 *                            last record, or records the last checkpoint had on disk are missing ("records missing
 *                            from ... to ..."); empty if none of these
 * @param indexEntriesDropped offset-index entries removed because they pointed at nothing whole
 * @param durationMs          time the recovery took
 * @param recordsRestored     records written back from the staging ring ({@link StagingRing}): appended, but not
 *                            yet in the segment files when the last run stopped; counted in {@code recordsScanned}
 * @param indexesRebuilt      why the indexes were rebuilt from the whole log (index files deleted, or an earlier
 *                            rebuild cut short), or null if they were not
 */
public record RecoveryReport(boolean crashed, boolean checkpointFound, long scanFrom, long end, long recordsScanned,
                             long truncatedBytes, String truncateReason, long indexEntriesDropped, long durationMs,
                             long recordsRestored, String indexesRebuilt) {}
