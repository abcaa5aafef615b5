package dev.ferry.broker;

/** How a consumer group shares a topic's messages. */
public enum MessageModel {
    /** The queues of each topic are shared among the live members: each message goes to one member. */
    CLUSTERING,
    /** Every member reads every queue: each message goes to every member; positions are kept per member. */
    BROADCASTING
}
