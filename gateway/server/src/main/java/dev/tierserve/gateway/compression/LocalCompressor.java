package dev.tierserve.gateway.compression;

import dev.tierserve.jobs.BearerToken;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import io.grpc.InsecureChannelCredentials;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * The gateway's own compressor worker: {@code compressor serve} started as a child process, listening on loopback
 * only, with a token made for it, at the lowest CPU priority ({@code nice -n 19}) and with a heap of its own. So
 * compression gets only the cycles serving leaves idle, and no job can take the serving process's memory. Jobs go to
 * it over gRPC as to a remote worker. The child ends with the gateway (it exits when its standard input closes, also
 * when the gateway is killed); a child that has exited is started again at the next call, and resumes the unfinished
 * jobs from the store.
 */
final class LocalCompressor implements CompressorClient {

    private static final Logger LOG = Logger.getLogger(LocalCompressor.class);
    private static final Pattern LISTENING = Pattern.compile("listening on port (\\d+)");
    private static final long START_SECONDS = 60;
    /** Lines of a child's output kept to say why it did not start. */
    private static final int LAST_LINES = 20;

    private final WorkerCommand command;
    private final Path tokenFile;
    private final BearerToken token;
    /** Starts the child and waits for its port: kept off the gRPC threads, one start at a time. */
    private final ExecutorService starter = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "compressor-child");
        thread.setDaemon(true);
        return thread;
    });
    /** Read and written on {@link #starter} only. */
    private Child child;
    private volatile boolean closed;

    /** The running child and the client that talks to it. */
    private record Child(Process process, RemoteCompressor client) {
    }

    LocalCompressor(WorkerCommand command) {
        this.command = command;
        try {
            this.tokenFile = Files.createTempFile("tierserve-compressor-", ".token",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            Files.writeString(tokenFile, HexFormat.of().formatHex(secret), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the local compressor's token file", e);
        }
        this.token = BearerToken.read(tokenFile);
        // At once, not at the first missing tier: the child resumes the jobs an earlier gateway left unfinished.
        starter.execute(() -> {
            try {
                running();
            } catch (RuntimeException e) {
                LOG.warnf("the local compressor did not start: %s (tried again at the next job)", e.getMessage());
            }
        });
    }

    @Override
    public CompletableFuture<Job> submit(SubmitJobRequest request) {
        return call(client -> client.submit(request));
    }

    @Override
    public CompletableFuture<Job> job(String id) {
        return call(client -> client.job(id));
    }

    private CompletableFuture<Job> call(Function<RemoteCompressor, CompletableFuture<Job>> call) {
        return CompletableFuture.supplyAsync(this::running, starter).thenCompose(call);
    }

    /** The running child's client, starting the child first when there is none. */
    private RemoteCompressor running() {
        if (closed) {
            throw new IllegalStateException("the gateway is stopping");
        }
        if (child != null && child.process().isAlive()) {
            return child.client();
        }
        if (child != null) {
            LOG.warnf("the local compressor exited (status %d); starting it again", child.process().exitValue());
            child.client().close();
            child = null;
        }
        List<String> line = command.line(tokenFile);
        LOG.infof("starting the local compressor: %s", String.join(" ", line));
        Process process;
        try {
            process = new ProcessBuilder(line).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the local compressor: " + e.getMessage(), e);
        }
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Deque<String> last = new ArrayDeque<>();
        Thread reader = new Thread(() -> relay(process, port, last), "compressor-child-output");
        reader.setDaemon(true);
        reader.start();
        try {
            int listening = port.get(START_SECONDS, TimeUnit.SECONDS);
            child = new Child(process, new RemoteCompressor("127.0.0.1:" + listening,
                    InsecureChannelCredentials.create(), Optional.of(token)));
            return child.client();
        } catch (ExecutionException | TimeoutException e) {
            process.destroyForcibly();
            List<String> lines;
            synchronized (last) {
                lines = new ArrayList<>(last);
            }
            throw new IllegalStateException("the local compressor did not start within " + START_SECONDS + " s"
                    + (lines.isEmpty() ? "" : "; it printed: " + String.join(" | ", lines)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("interrupted while the local compressor started", e);
        }
    }

    /** Logs the child's output and completes {@code port} with the port it listens on. */
    private static void relay(Process process, CompletableFuture<Integer> port, Deque<String> last) {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                LOG.info("compressor: " + line);
                synchronized (last) {
                    last.addLast(line);
                    if (last.size() > LAST_LINES) {
                        last.removeFirst();
                    }
                }
                Matcher listening = LISTENING.matcher(line);
                if (!port.isDone() && listening.find()) {
                    port.complete(Integer.parseInt(listening.group(1)));
                }
            }
        } catch (IOException e) {
            // the child is gone
        }
        port.completeExceptionally(new IllegalStateException("the local compressor exited"));
    }

    @Override
    public void close() {
        closed = true;
        starter.shutdownNow();
        try {
            starter.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Child last = child;
        if (last != null) {
            last.client().close();
            // SIGTERM: the worker stops its job, which the next worker on the store resumes.
            last.process().destroy();
            try {
                if (!last.process().waitFor(10, TimeUnit.SECONDS)) {
                    last.process().destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                last.process().destroyForcibly();
            }
        }
        try {
            Files.deleteIfExists(tokenFile);
        } catch (IOException e) {
            LOG.debugf("cannot delete %s: %s", tokenFile, e.getMessage());
        }
    }
}
