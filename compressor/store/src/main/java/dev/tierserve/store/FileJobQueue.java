package dev.tierserve.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.tierserve.proto.compressor.Job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Durable job records in a directory store: {@code <root>/<model>/jobs/<job id>.json}, the wire's {@link Job}
 * message in protobuf JSON, replaced atomically on every change so that a killed worker leaves the last complete
 * record behind. Leases are operating-system file locks ({@code jobs/.<name>.lock}), which the system releases when
 * their process dies, so a worker on the same (shared) filesystem takes over at once.
 */
final class FileJobQueue implements JobQueue {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private final Path root;

    FileJobQueue(Path root) {
        this.root = root;
    }

    private Path jobsDir(String model) {
        return root.resolve(StoreNames.check(model)).resolve("jobs");
    }

    @Override
    public Optional<Lease> tryAcquire(String model, String name) {
        return FileLocks.tryLock(jobsDir(model).resolve("." + name + ".lock")).map(held -> new Lease() {
            @Override
            public boolean held() {
                return true; // a lock is held until released, or until its process dies
            }

            @Override
            public void close() {
                held.close();
            }
        });
    }

    @Override
    public synchronized void save(Job job) {
        Path dir = jobsDir(job.getRequest().getModel());
        try {
            Files.createDirectories(dir);
            Path staging = Files.createTempFile(dir, ".job-", ".json");
            Files.writeString(staging, PRINTER.print(job), StandardCharsets.UTF_8);
            Files.move(staging, dir.resolve(job.getId() + ".json"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save job " + job.getId(), e);
        }
    }

    @Override
    public List<Job> all() {
        List<Job> jobs = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return jobs;
        }
        try (Stream<Path> models = Files.list(root)) {
            for (Path model : models.filter(Files::isDirectory).toList()) {
                jobs.addAll(read(model.resolve("jobs")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        jobs.sort(Comparator.comparing(Job::getCreated));
        return jobs;
    }

    private static List<Job> read(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Job> jobs = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".json")
                    && !f.getFileName().toString().startsWith(".")).toList()) {
                Job.Builder job = Job.newBuilder();
                try {
                    PARSER.merge(Files.readString(file, StandardCharsets.UTF_8), job);
                    jobs.add(job.build());
                } catch (InvalidProtocolBufferException e) {
                    // not one of ours: ignored
                }
            }
        }
        return jobs;
    }
}
