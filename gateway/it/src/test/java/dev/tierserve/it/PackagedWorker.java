package dev.tierserve.it;

import dev.tierserve.store.S3ProxyServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A compressor worker, {@code java -jar compressor/target/tierserve-compressor.jar serve}, started as its own process
 * on a free port, the way deploy/'s worker Deployment runs it.
 */
final class PackagedWorker implements AutoCloseable {

    static final Path JAR = PackagedGateway.ROOT.resolve("compressor/target/tierserve-compressor.jar");
    /** How long a cold start may take on a slow CI machine before the test gives up (not a measurement). */
    private static final long START_LIMIT_SECONDS = 120;

    private final Process process;
    private final Path log;
    private final int port;

    private PackagedWorker(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts a worker on an S3 store and waits until it listens.
     *
     * @param leaseSeconds how long a worker's leases outlive it
     */
    static PackagedWorker start(Path workDir, Path models, S3ProxyServer s3proxy, String store, int leaseSeconds)
            throws IOException, InterruptedException {
        // The credentials as deploy/ passes them: the AWS SDK's environment variables.
        return start(workDir, Map.of("AWS_ACCESS_KEY_ID", S3ProxyServer.IDENTITY, "AWS_SECRET_ACCESS_KEY",
                S3ProxyServer.CREDENTIAL), "--models", models.toString(), "--store", store, "--s3-endpoint",
                s3proxy.endpoint().toString(), "--lease-seconds", String.valueOf(leaseSeconds), "--work-dir",
                workDir.resolve("work").toString(), "--cache-dir", workDir.resolve("cache").toString());
    }

    /** Starts {@code compressor serve} with {@code options} (and a free {@code --port}) and waits until it listens. */
    static PackagedWorker start(Path workDir, Map<String, String> environment, String... options)
            throws IOException, InterruptedException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run mvn package first");
        }
        Files.createDirectories(workDir);
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(PackagedGateway.java(), "-Xmx3g", "-jar", JAR.toString(),
                "serve", "--port", String.valueOf(port)));
        command.addAll(List.of(options));
        Path log = workDir.resolve("worker.log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        PackagedWorker worker = new PackagedWorker(builder.start(), log, port);
        try {
            worker.awaitListening();
        } catch (RuntimeException | Error e) {
            worker.close();
            throw e;
        }
        return worker;
    }

    /** Until the worker says it listens (its line comes after the server started). */
    private void awaitListening() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_LIMIT_SECONDS);
        while (!logText().contains("compressor worker listening on port " + port)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the worker exited with " + process.exitValue() + ":\n" + logText());
            }
            if (System.nanoTime() > until) {
                throw new IllegalStateException("the worker did not listen within " + START_LIMIT_SECONDS + " s:\n"
                        + logText());
            }
            Thread.sleep(200);
        }
    }

    /** host:port, as {@code gateway.compressor.address} takes it. */
    String address() {
        return "127.0.0.1:" + port;
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGKILL: the worker dies mid-job without releasing anything, as a lost node does. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
