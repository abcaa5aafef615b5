package dev.ferry.gateway;

import dev.ferry.log.ReadResult;
import dev.ferry.protocol.Command;

/** What a request is answered with: a command, or (binary FETCH) a command whose body is stored records sent from the log. */
sealed interface Reply permits Reply.Plain, Reply.Records {
    /** A response command, encoded whole by the connection's codec. */
    record Plain(Command command) implements Reply {}

    /**
     * A response whose body is {@code records}' bytes, written after the command's other fields
     * as file regions; {@code records} is closed once written.
     */
    record Records(Command command, ReadResult records) implements Reply {}
}
