package dev.ferry.client;

import dev.ferry.protocol.Message;

/**
 * Handles one message of a {@link Subscription}. Called on the subscription's thread, one
 * message at a time, in queue order. Throwing makes the subscription deliver the same message
 * again after a pause.
 */
@FunctionalInterface
public interface MessageHandler {
    void handle(Message message) throws Exception;
}
