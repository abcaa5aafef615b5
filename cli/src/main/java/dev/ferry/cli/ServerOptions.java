package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import picocli.CommandLine.Option;

/** The options every command that talks to a broker shares: where it is and which codec to speak. */
final class ServerOptions {
    @Option(names = "--server", description = "Broker address host:port (default ${DEFAULT-VALUE}).", defaultValue = "127.0.0.1:9876")
    String server;

    @Option(names = "--codec", description = "Wire codec: binary, json, hessian, protobuf (default ${DEFAULT-VALUE}).",
            defaultValue = "binary")
    String codec;

    FerryClient connect() {
        return FerryClient.connect(ClientConfig.builder().server(server).codec(codec).build());
    }
}
