package dev.ferry.connect.file;

import dev.ferry.connect.Configs;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A child JVM whose writes fail part-way, for real: it lowers its own file size limit
 * ({@code RLIMIT_FSIZE}, with {@code prlimit}; the JVM ignores SIGXFSZ, so a write past the limit
 * writes up to it and the next one fails with EFBIG), has a {@code file-sink} flush more than
 * that, lifts the limit again and closes the sink, as the runtime does after a failure.
 * Arguments: file, limit in bytes, lines, bytes per line, and optionally {@code put}: the limit is
 * then lowered before the put, whose own write fails (a line larger than the sink's buffer is
 * written by the put itself). Prints what happened; exit code 0 when the write failed as intended.
 */
final class FileSinkWriteFailureChild {
    private FileSinkWriteFailureChild() {
    }

    private record Context(ConnectorConfig config, Map<String, String> committedPosition, Path stateDir, Clock clock, String server)
            implements TaskContext {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        long limit = Long.parseLong(args[1]);
        ConnectorConfig c = Configs.of("name", "copy", "connector", "file-sink", "file", file.toString(), "topics", "t");
        FileSinkTask task = new FileSinkTask();
        task.configure(c);
        task.start(new Context(c, Map.of(), file.getParent(), Clock.systemUTC(), "-"));
        boolean failingPut = args.length > 4 && args[4].equals("put");
        List<Message> lines = lines(Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        if (!failingPut) {
            task.put(lines);
        }
        fileSizeLimit(Long.toString(limit));
        try {
            if (failingPut) {
                task.put(lines);
            }
            task.flush();
            System.out.println("write did not fail");
            System.exit(1);
        } catch (IOException e) {
            System.out.println((failingPut ? "put" : "flush") + " failed: " + e.getMessage());
        }
        fileSizeLimit("unlimited");
        try {
            task.close();
            System.out.println("closed");
        } catch (IOException e) {
            System.out.println("close failed: " + e.getMessage());
        }
        System.exit(0);
    }

    /** The lines the test expects: {@code line-00000} padded with dots to {@code bytes}, numbered from 0. */
    static List<Message> lines(int count, int bytes) {
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(Message.builder("t").queueId(0).queueOffset(i).body(line(i, bytes).getBytes(StandardCharsets.UTF_8)).build());
        }
        return out;
    }

    static String line(int i, int bytes) {
        StringBuilder b = new StringBuilder(String.format("line-%05d", i));
        while (b.length() < bytes) {
            b.append('.');
        }
        return b.toString();
    }

    private static void fileSizeLimit(String soft) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()), "--fsize=" + soft + ":")
                .inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("prlimit --fsize=" + soft + " failed with exit code " + p.exitValue());
        }
    }
}
