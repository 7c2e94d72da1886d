package dev.tierserve.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged command-line client, {@code java -jar gateway/client/target/tierserve-client.jar}, run as its own
 * process from the project root (so that the README's relative paths work), pointed at a gateway through the
 * {@code TIERSERVE_TARGET} environment variable the client reads.
 */
final class PackagedClient {

    static final Path JAR = PackagedGateway.ROOT.resolve("gateway/client/target/tierserve-client.jar");

    /** What one run printed. */
    record Run(List<String> command, int exitCode, String stdout, String stderr) {

        List<String> lines() {
            List<String> lines = new ArrayList<>(stdout.lines().toList());
            lines.addAll(stderr.lines().toList());
            return lines;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + "\nexit " + exitCode + "\nstdout:\n" + stdout + "stderr:\n" + stderr;
        }
    }

    private final String target;
    private final Map<String, String> environment;

    PackagedClient(String target) {
        this(target, Map.of());
    }

    /** A client run with {@code environment} added to its environment (e.g. TIERSERVE_ADMIN_TOKEN_FILE). */
    PackagedClient(String target, Map<String, String> environment) {
        this.target = target;
        this.environment = Map.copyOf(environment);
    }

    /** Runs the client jar with {@code arguments}. */
    Run run(String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PackagedGateway.java(), "-jar", JAR.toString()));
        command.addAll(List.of(arguments));
        return exec(command);
    }

    /** Runs a command line as written in the README: {@code java -jar <relative jar path> ...}. */
    Run runAsWritten(List<String> words) throws IOException, InterruptedException {
        if (words.size() < 3 || !words.get(0).equals("java") || !words.get(1).equals("-jar")) {
            throw new IllegalArgumentException("not a java -jar command: " + words);
        }
        List<String> command = new ArrayList<>(words);
        command.set(0, PackagedGateway.java()); // the JVM running the tests, so that its version is the one tested
        return exec(command);
    }

    private Run exec(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("client", ".out");
        Path err = Files.createTempFile("client", ".err");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).directory(PackagedGateway.ROOT.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            builder.environment().put("TIERSERVE_TARGET", target);
            builder.environment().putAll(environment);
            Process process = builder.start();
            if (!process.waitFor(180, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("the client did not exit: " + command);
            }
            return new Run(command, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
