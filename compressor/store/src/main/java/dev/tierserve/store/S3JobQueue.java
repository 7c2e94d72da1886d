package dev.tierserve.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.tierserve.proto.compressor.Job;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Jobs in an S3 store: {@code <model>/jobs/<job id>.json} (the wire's {@link Job} in protobuf JSON, written by its
 * owner) and leases under {@code <model>/leases/<name>/}. A lease is, like the tier table, an append-only log: a worker
 * appends a claim (who, when, until when), waits {@code settle} (longer than the clocks of two workers may differ, so
 * that any claim ordered before its own has been written by then), and holds the lease if folding the log in key order
 * names it. A claim made while another worker's lease runs is skipped; the owner renews by appending claims every third
 * of the lease's time, and gives the lease up with a release claim. A worker that dies stops renewing, and its lease
 * lapses after {@code ttl}. No read-modify-write, so this holds on S3 servers whose conditional writes are not atomic.
 */
final class S3JobQueue implements JobQueue {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One entry of a lease's log. Times are the writer's clock, in epoch milliseconds. */
    record Claim(String worker, long time, long expires, boolean release) {
    }

    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final Duration ttl;
    private final Duration settle;
    private final String worker;
    private final Pattern jobKey;
    /** Lease claims by key (they never change) and job records by key and ETag: each fetched once. */
    private final Map<String, Claim> claims = new ConcurrentHashMap<>();
    private final Map<String, Cached> records = new ConcurrentHashMap<>();

    private record Cached(String etag, Job job) {
    }

    private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "lease-renewer");
        thread.setDaemon(true);
        return thread;
    });

    S3JobQueue(S3Client s3, String bucket, String prefix, Duration ttl, Duration settle) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
        this.ttl = ttl;
        this.settle = settle;
        this.worker = hostName() + "-" + UUID.randomUUID().toString().substring(0, 8);
        this.jobKey = Pattern.compile(Pattern.quote(prefix) + "[^/]+/jobs/[^/]+\\.json");
    }

    /** This worker's name in lease claims. */
    String worker() {
        return worker;
    }

    @Override
    public void save(Job job) {
        String key = prefix + job.getRequest().getModel() + "/jobs/" + job.getId() + ".json";
        try {
            byte[] bytes = PRINTER.print(job).getBytes(StandardCharsets.UTF_8);
            s3.putObject(put -> put.bucket(bucket).key(key).contentType("application/json"), RequestBody.fromBytes(bytes));
        } catch (IOException | SdkException e) {
            throw new UncheckedIOException(new IOException("cannot save job " + job.getId() + ": " + e.getMessage(), e));
        }
    }

    @Override
    public List<Job> all() {
        List<Job> jobs = new ArrayList<>();
        for (S3Object object : list(prefix)) {
            if (!jobKey.matcher(object.key()).matches()) {
                continue;
            }
            Cached cached = records.get(object.key());
            if (cached != null && cached.etag().equals(object.eTag())) {
                jobs.add(cached.job());
                continue;
            }
            try {
                Job.Builder job = Job.newBuilder();
                PARSER.merge(s3.getObjectAsBytes(get -> get.bucket(bucket).key(object.key())).asUtf8String(), job);
                records.put(object.key(), new Cached(object.eTag(), job.build()));
                jobs.add(job.build());
            } catch (NoSuchKeyException | InvalidProtocolBufferException e) {
                // removed meanwhile, or not one of ours
            }
        }
        jobs.sort(Comparator.comparing(Job::getCreated));
        return jobs;
    }

    @Override
    public Optional<Lease> tryAcquire(String model, String name) {
        String dir = prefix + StoreNames.check(model) + "/leases/" + name + "/";
        Fold before = fold(dir);
        long now = System.currentTimeMillis();
        if (before.owner() != null && !before.owner().equals(worker) && now < before.expires()) {
            return Optional.empty();
        }
        append(dir, before.lastKey(), new Claim(worker, now, now + ttl.toMillis(), false));
        try {
            Thread.sleep(settle.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
        Fold after = fold(dir);
        if (!worker.equals(after.owner())) {
            return Optional.empty();
        }
        return Optional.of(new S3Lease(dir, after.expires()));
    }

    /** The log folded: who holds the lease and until when (null: nobody), and the last key. */
    private record Fold(String owner, long expires, String lastKey) {
    }

    private Fold fold(String dir) {
        List<S3Object> log = new ArrayList<>(list(dir));
        log.sort(Comparator.comparing(S3Object::key));
        String owner = null;
        long expires = 0;
        String lastKey = "";
        for (S3Object object : log) {
            Claim claim = claims.get(object.key());
            if (claim == null) {
                try {
                    claim = JSON.readValue(s3.getObjectAsBytes(get -> get.bucket(bucket).key(object.key()))
                            .asByteArray(), Claim.class);
                } catch (IOException | NoSuchKeyException e) {
                    continue; // removed by a release meanwhile, or not ours
                }
                claims.put(object.key(), claim); // claims never change: fetched once
            }
            lastKey = object.key().substring(dir.length());
            if (claim.release()) {
                if (claim.worker().equals(owner)) {
                    owner = null;
                }
            } else if (owner == null || claim.time() >= expires) {
                owner = claim.worker();
                expires = claim.expires();
            } else if (claim.worker().equals(owner)) {
                expires = Math.max(expires, claim.expires());
            }
            // else: claimed while another worker's lease ran, so skipped
        }
        return new Fold(owner, expires, lastKey);
    }

    /** Appends a claim under a key after {@code lastKey} (and after this worker's clock); returns the key. */
    private String append(String dir, String lastKey, Claim claim) {
        long time = claim.time();
        if (lastKey.length() >= 13) {
            try {
                time = Math.max(time, Long.parseLong(lastKey.substring(0, 13)) + 1);
            } catch (NumberFormatException ignored) {
                // a foreign key
            }
        }
        String key = dir + String.format("%013d-%s-%s.json", time, worker, UUID.randomUUID().toString().substring(0, 6));
        try {
            byte[] bytes = JSON.writeValueAsBytes(claim);
            s3.putObject(put -> put.bucket(bucket).key(key).contentType("application/json"), RequestBody.fromBytes(bytes));
            return key;
        } catch (IOException | SdkException e) {
            throw new UncheckedIOException(new IOException("cannot write a lease claim " + key + ": " + e.getMessage(), e));
        }
    }

    private List<S3Object> list(String under) {
        try {
            return s3.listObjectsV2Paginator(list -> list.bucket(bucket).prefix(under)).contents().stream().toList();
        } catch (SdkException e) {
            throw new UncheckedIOException(new IOException("cannot list " + under + ": " + e.getMessage(), e));
        }
    }

    /** A lease this worker holds: renewed on a timer until closed or lapsed. */
    private final class S3Lease implements Lease {
        private final String dir;
        private volatile long expires;
        private volatile boolean lost;
        private final ScheduledFuture<?> renewal;

        S3Lease(String dir, long expires) {
            this.dir = dir;
            this.expires = expires;
            long every = Math.max(1, ttl.toMillis() / 3);
            this.renewal = renewer.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
        }

        private void renew() {
            long now = System.currentTimeMillis();
            try {
                Fold current = fold(dir);
                if (!worker.equals(current.owner())) {
                    lost = true; // it lapsed, and another worker holds it now
                    renewal.cancel(false);
                    return;
                }
                append(dir, current.lastKey(), new Claim(worker, now, now + ttl.toMillis(), false));
                expires = now + ttl.toMillis();
            } catch (RuntimeException e) {
                // The store cannot be reached: the lease holds until it expires, and is lost after that.
                if (System.currentTimeMillis() >= expires) {
                    lost = true;
                }
            }
        }

        @Override
        public boolean held() {
            return !lost && System.currentTimeMillis() < expires;
        }

        @Override
        public void close() {
            renewal.cancel(false);
            if (lost) {
                return;
            }
            try {
                Fold current = fold(dir);
                long now = System.currentTimeMillis();
                String released = append(dir, current.lastKey(), new Claim(worker, now, now, true));
                // Everything up to the release no longer counts: the log starts over after it.
                for (S3Object object : list(dir)) {
                    if (object.key().compareTo(released) <= 0) {
                        s3.deleteObject(delete -> delete.bucket(bucket).key(object.key()));
                        claims.remove(object.key());
                    }
                }
            } catch (RuntimeException e) {
                // The lease lapses on its own after its time.
            }
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "_");
        } catch (IOException e) {
            return "worker";
        }
    }
}
