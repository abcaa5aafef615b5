package dev.ferry.connect;

import dev.ferry.client.FerryClient;

/**
 * What every worker of one runtime shares: the options, the broker client and the position
 * store. Immutable; the client and the store are thread-safe.
 */
record RuntimeServices(RuntimeOptions options, FerryClient client, PositionStore positions) {
}
