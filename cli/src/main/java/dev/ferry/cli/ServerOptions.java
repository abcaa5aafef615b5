package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.protocol.Codecs;
import picocli.CommandLine.Option;

/** The options every command that talks to a broker shares: where it is and which codec to speak. */
final class ServerOptions {
    @Option(names = "--server", description = "Broker address host:port (default ${DEFAULT-VALUE}).", defaultValue = "127.0.0.1:9876")
    String server;

    @Option(names = "--codec", description = "Wire codec: binary, json, hessian, protobuf (default ${DEFAULT-VALUE}).",
            defaultValue = "binary")
    String codec;

    /**
     * Connects to {@code --server} with {@code --codec}. A value the client cannot take (no port, a
     * port past 65535, an unknown codec) is a bad command line naming the flag (exit 2); before, it
     * exited 1, as if the broker had failed, with "ferry: port: 99999 (expected: 1..65535)".
     */
    FerryClient connect() {
        ClientConfig config;
        try {
            config = ClientConfig.builder().server(server).codec(codec).build();
            Codecs.load(ServerOptions.class.getClassLoader()).get(codec); // the client looks it up only once connecting
        } catch (IllegalArgumentException e) {
            String flag = String.valueOf(e.getMessage()).startsWith("codec") ? "--codec" : "--server";
            throw new BadCommandLineException(flag + ": " + e.getMessage());
        }
        return FerryClient.connect(config);
    }
}
