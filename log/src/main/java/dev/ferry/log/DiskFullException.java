package dev.ferry.log;

/**
 * An append refused because the disk is full: nothing of it was written, and appends work again
 * by themselves once space is freed (the store retries every second). An expected condition of
 * a running store, which it logs once when it starts and once when it ends: a network front
 * answers each refused append with this message and need not log it again.
 */
public final class DiskFullException extends LogException {
    private static final long serialVersionUID = 1L;

    public DiskFullException(String message, Throwable cause) {
        super(message, cause);
    }
}
