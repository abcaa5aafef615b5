package dev.ferry.cli;

/**
 * What a command was asked for does not exist on this machine (a file {@code dump} was given):
 * exits 3, as a topic, group or message the broker does not have does (docs/OPERATIONS.md, "Exit
 * codes"), not 1, which says something failed while running.
 */
final class NotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
