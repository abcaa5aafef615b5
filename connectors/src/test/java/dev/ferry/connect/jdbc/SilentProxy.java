package dev.ferry.connect.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy to a local database that can go silent: after {@link #goSilent} it keeps every
 * connection open but forwards nothing, in either direction, as a fail-over, a NAT that dropped
 * an idle flow or a power loss look to a client (no reset, no close: reads just block). New
 * connections are accepted and then get no answer either. Thread-safe; daemon threads.
 */
final class SilentProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean silent;

    SilentProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        listener = new ServerSocket(0);
        Thread acceptor = new Thread(this::accept, "silent-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** {@code url} (which names 127.0.0.1:targetPort) with this proxy's port instead. */
    String through(String url) {
        String direct = "127.0.0.1:" + targetPort;
        if (!url.contains(direct)) {
            throw new IllegalArgumentException(url + " does not name " + direct);
        }
        return url.replace(direct, "127.0.0.1:" + listener.getLocalPort());
    }

    /** From now on nothing more is forwarded; connections stay open. */
    void goSilent() {
        silent = true;
    }

    private void accept() {
        try {
            while (true) {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress("127.0.0.1", targetPort));
                sockets.add(client);
                sockets.add(server);
                pump(client, server);
                pump(server, client);
            }
        } catch (IOException e) {
            // closed
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    while (silent) {
                        Thread.sleep(100); // hold the bytes, keep the connection open
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // closed
            }
        }, "silent-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
