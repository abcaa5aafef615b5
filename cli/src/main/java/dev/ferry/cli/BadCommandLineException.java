package dev.ferry.cli;

/**
 * A command line that picocli parsed but a command refuses: a value outside the words it takes
 * ({@code --from middle}), a malformed one ({@code --property novalue}), flags that need each
 * other. Exits 2, as picocli's own usage errors do (docs/OPERATIONS.md, "Exit codes"), not 1,
 * which says something failed while running.
 */
final class BadCommandLineException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    BadCommandLineException(String message) {
        super(message);
    }
}
