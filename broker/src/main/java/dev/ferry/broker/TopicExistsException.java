package dev.ferry.broker;

/** Creating a topic that already exists. */
public final class TopicExistsException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public TopicExistsException(String topic, int queues) {
        super("topic " + topic + " already exists with " + queues + " queues");
    }
}
