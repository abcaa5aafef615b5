package dev.ferry.broker;

/** A request named a topic that does not exist (and auto-creation is off or does not apply). */
public final class TopicNotFoundException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public TopicNotFoundException(String topic) {
        super("topic " + topic + " does not exist");
    }
}
