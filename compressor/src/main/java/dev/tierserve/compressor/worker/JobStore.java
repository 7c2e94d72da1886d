package dev.tierserve.compressor.worker;

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
 * Durable job records in the variant store: {@code <root>/<model>/jobs/<job id>.json}, the wire's {@link Job}
 * message in protobuf JSON, replaced atomically on every change so that a killed worker leaves the last complete
 * record behind.
 */
final class JobStore {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private final Path root;

    JobStore(Path root) {
        this.root = root;
    }

    Path jobsDir(String model) {
        return root.resolve(model).resolve("jobs");
    }

    /** The file whose lock marks the worker running the job. */
    Path ownerLock(Job job) {
        return jobsDir(job.getRequest().getModel()).resolve("." + job.getId() + ".lock");
    }

    /** The file whose lock marks the job compressing {@code tier} of {@code model}, in any process. */
    Path tierLock(String model, String tier) {
        return jobsDir(model).resolve(".tier-" + tier + ".lock");
    }

    synchronized void save(Job job) {
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

    /** Every job record of every model, oldest first. */
    List<Job> all() {
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

    Optional<Job> find(String id) {
        return all().stream().filter(job -> job.getId().equals(id)).findFirst();
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
