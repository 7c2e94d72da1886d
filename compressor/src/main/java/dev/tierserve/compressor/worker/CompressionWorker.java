package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.plan.Candidate;
import dev.tierserve.compressor.plan.Method;
import dev.tierserve.compressor.plan.PlanRequest;
import dev.tierserve.compressor.plan.TierDecision;
import dev.tierserve.compressor.plan.TierPlanner;
import dev.tierserve.jobs.JobNotFoundException;
import dev.tierserve.jobs.ModelLocator;
import dev.tierserve.jobs.RuntimeWire;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.proto.compressor.TierOutcome;
import dev.tierserve.store.JobQueue;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierNames;
import dev.tierserve.store.TierTable;
import dev.tierserve.store.VariantStore;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs compression jobs one at a time (compression saturates the machine, and its latency measurements need it
 * quiet). Jobs are durable: every change is written to the store, a worker that starts takes over the unfinished
 * jobs no live worker owns, and a job re-run after a crash skips the tiers its earlier attempt already published.
 * A job compresses a tier only while holding that tier's lock, so no two jobs, in any process, build the same
 * model and tier at once.
 */
public final class CompressionWorker implements AutoCloseable {

    private static final Set<Job.State> ACTIVE = Set.of(Job.State.QUEUED, Job.State.RUNNING);
    /** Attempts a job gets; one whose worker stopped during each of them fails instead of being taken over again. */
    static final int MAX_ATTEMPTS = 3;
    /** A submission holds its lease for one lease settle and a few store calls: far longer means an unreachable store. */
    private static final Duration SUBMISSION_WAIT = Duration.ofSeconds(30);

    private final VariantStore store;
    private final JobQueue jobs;
    private final ModelLocator models;
    private final WorkerDefaults defaults;
    private final Consumer<String> log;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "compressor-worker");
        thread.setDaemon(true);
        return thread;
    });
    private final List<ScheduledExecutorService> scanners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService followers = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "compressor-job-follower");
        thread.setDaemon(true);
        return thread;
    });
    /** Jobs this worker has queued or is running, in their latest state. */
    private final Map<String, Job> mine = new ConcurrentHashMap<>();
    private final Set<String> cancelRequested = ConcurrentHashMap.newKeySet();
    /** The leases each running job holds: its own, then its tiers'. */
    private final Map<String, List<JobQueue.Lease>> held = new ConcurrentHashMap<>();
    private final Map<String, List<Consumer<Job>>> watchers = new ConcurrentHashMap<>();

    public CompressionWorker(VariantStore store, ModelLocator models, WorkerDefaults defaults, Consumer<String> log) {
        this.store = store;
        this.jobs = store.jobs();
        this.models = models;
        this.defaults = defaults;
        this.log = log;
    }

    public VariantStore store() {
        return store;
    }

    /**
     * Looks for unfinished jobs no live worker owns every {@code interval}, so that a job whose worker died (its lease
     * lapsed) is taken over by this one.
     */
    public void takeOverEvery(Duration interval) {
        ScheduledExecutorService scanner = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "compressor-take-over");
            thread.setDaemon(true);
            return thread;
        });
        scanners.add(scanner);
        scanner.scheduleWithFixedDelay(() -> {
            try {
                int resumed = resumeUnfinished();
                if (resumed > 0) {
                    log.accept("took over " + resumed + " unfinished job(s)");
                }
            } catch (RuntimeException e) {
                log.accept("cannot look for unfinished jobs: " + e.getMessage());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Takes over unfinished jobs that no live worker owns (a worker killed mid-job leaves them behind). */
    public synchronized int resumeUnfinished() {
        int resumed = 0;
        for (Job job : jobs.all()) {
            if (ACTIVE.contains(job.getState()) && !mine.containsKey(job.getId()) && adopt(job)) {
                // A worker killed while publishing leaves a hidden staging directory; an hour-old one is abandoned.
                store.removeAbandonedStaging(job.getRequest().getModel(), TimeUnit.HOURS.toMillis(1));
                resumed++;
            }
        }
        return resumed;
    }

    /**
     * Starts a job, or returns an unfinished one for the same model that covers every requested tier.
     *
     * @throws IllegalArgumentException for an unknown model, a malformed tier, method, runtime, pooling or precision
     */
    public synchronized Job submit(SubmitJobRequest request) {
        if (models.parentFile(request.getModel()).isEmpty()) {
            throw new IllegalArgumentException("unknown model '" + request.getModel() + "'");
        }
        if (request.getTiersCount() == 0) {
            throw new IllegalArgumentException("a job needs at least one tier");
        }
        SubmitJobRequest.Builder normalised = request.toBuilder().clearTiers();
        request.getTiersList().stream().map(TierNames::parse).distinct().sorted()
                .forEach(t -> normalised.addTiers(TierNames.format(t)));
        // An unknown method is refused here, not when the job runs; "all" is spelled out.
        List<Method> methods = normalised.getMethodsCount() == 0 ? defaults.methods()
                : Method.parseAll(normalised.getMethodsList());
        normalised.clearMethods().addAllMethods(Method.labels(methods));
        if (!normalised.hasRuntime()) {
            normalised.setRuntime(RuntimeWire.toWire(defaults.runtime()));
        }
        SubmitJobRequest wanted = normalised.build();
        RuntimeWire.fromWire(wanted.getRuntime()); // rejects an unknown provider or non-positive sizes now, not mid-job
        PoolingWire.fromWire(wanted.getPooling()); // and a pooling value from a newer contract
        PrecisionWire.fromWire(wanted.getPrecisionsList()); // and a precision value from a newer contract
        // Two workers asked for the same tier at once (two gateways, each with its own worker) must agree on one job:
        // the look for an unfinished job and the new record happen under the model's submission lease.
        Job job;
        try (JobQueue.Lease ignored = submissionLease(wanted.getModel())) {
            for (Job existing : jobs.all()) {
                if (ACTIVE.contains(existing.getState()) && existing.getRequest().getModel().equals(wanted.getModel())
                        && existing.getRequest().getTiersList().containsAll(wanted.getTiersList())) {
                    adopt(existing);
                    return current(existing.getId()).orElse(existing);
                }
            }
            String now = Instant.now().toString();
            job = Job.newBuilder().setId("job-" + UUID.randomUUID().toString().substring(0, 12)).setRequest(wanted)
                    .setState(Job.State.QUEUED).setProgress("queued").setCreated(now).setUpdated(now).build();
            jobs.save(job);
        }
        log.accept("job " + job.getId() + ": " + wanted.getModel() + " " + wanted.getTiersList() + " queued");
        adopt(job);
        return job;
    }

    /** Waits for the model's submission lease, which another worker holds only while it submits. */
    private JobQueue.Lease submissionLease(String model) {
        long until = System.nanoTime() + SUBMISSION_WAIT.toNanos();
        while (true) {
            Optional<JobQueue.Lease> lease = jobs.tryAcquire(model, "submit");
            if (lease.isPresent()) {
                return lease.get();
            }
            if (System.nanoTime() > until || Thread.currentThread().isInterrupted()) {
                throw new IllegalStateException("another worker has been submitting a job for model '" + model
                        + "' for over " + SUBMISSION_WAIT.toSeconds() + " s");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    public Optional<Job> job(String id) {
        return current(id);
    }

    /** Jobs of {@code model} (all models when empty), oldest first. */
    public List<Job> jobs(String model) {
        List<Job> found = new ArrayList<>();
        for (Job job : jobs.all()) {
            if (model.isEmpty() || job.getRequest().getModel().equals(model)) {
                found.add(mine.getOrDefault(job.getId(), job));
            }
        }
        return found;
    }

    /** Asks a job to stop; a queued job stops at once, a running one at its next progress step. */
    public Job cancel(String id) {
        Job job = current(id).orElseThrow(() -> new JobNotFoundException(id));
        if (!ACTIVE.contains(job.getState())) {
            return job;
        }
        cancelRequested.add(id);
        if (job.getState() == Job.State.QUEUED && mine.containsKey(id)) {
            return update(job.toBuilder().setState(Job.State.CANCELLED).setProgress("cancelled before it started"));
        }
        return job;
    }

    /**
     * Calls {@code listener} with the job now and on every change until it ends; closing the returned handle stops
     * the calls.
     */
    public AutoCloseable watch(String id, Consumer<Job> listener) {
        Job job = current(id).orElseThrow(() -> new JobNotFoundException(id));
        List<Consumer<Job>> list = watchers.computeIfAbsent(id, key -> new CopyOnWriteArrayList<>());
        list.add(listener);
        listener.accept(current(id).orElse(job));
        // A job another worker runs changes only in the store: its record is read again every second.
        Job[] seen = {current(id).orElse(job)};
        List<ScheduledFuture<?>> follow = new CopyOnWriteArrayList<>();
        if (!finished(seen[0])) {
            follow.add(followers.scheduleWithFixedDelay(() -> {
                if (finished(seen[0]) || !watchers.getOrDefault(id, List.of()).contains(listener)) {
                    follow.forEach(f -> f.cancel(false)); // ended, here (update() dropped its watchers) or there
                    return;
                }
                if (mine.containsKey(id)) {
                    return; // this worker's own updates reach the listener directly
                }
                try {
                    jobs.find(id).filter(latest -> !latest.getUpdated().equals(seen[0].getUpdated()))
                            .ifPresent(latest -> {
                                seen[0] = latest;
                                listener.accept(latest);
                                if (finished(latest)) {
                                    list.remove(listener);
                                    follow.forEach(f -> f.cancel(false));
                                }
                            });
                } catch (RuntimeException e) {
                    log.accept("cannot read job " + id + ": " + e.getMessage()); // tried again in a second
                }
            }, 1, 1, TimeUnit.SECONDS));
        }
        return () -> {
            list.remove(listener);
            follow.forEach(f -> f.cancel(false));
        };
    }

    public static boolean finished(Job job) {
        return !ACTIVE.contains(job.getState());
    }

    @Override
    public void close() {
        scanners.forEach(ExecutorService::shutdownNow);
        followers.shutdownNow();
        runner.shutdownNow();
        try {
            runner.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- running --------------------------------------------------------------------------------------------

    /** Queues a job on this worker unless it already has it; false when another live worker owns it. */
    private boolean adopt(Job job) {
        if (mine.containsKey(job.getId())) {
            return true;
        }
        Optional<JobQueue.Lease> probe = jobs.tryAcquire(job.getRequest().getModel(), job.getId());
        if (probe.isEmpty()) {
            return false; // a live worker is running it
        }
        probe.get().close();
        mine.put(job.getId(), job);
        runner.execute(() -> run(job.getId()));
        return true;
    }

    private void run(String id) {
        Job job = mine.get(id);
        if (job == null || finished(job)) {
            mine.remove(id);
            return;
        }
        Optional<JobQueue.Lease> owner = jobs.tryAcquire(job.getRequest().getModel(), id);
        if (owner.isEmpty()) {
            mine.remove(id); // another worker took it between queueing and now
            return;
        }
        List<JobQueue.Lease> tierLocks = new ArrayList<>();
        held.put(id, tierLocks);
        tierLocks.add(owner.get());
        try {
            if (job.getAttempts() >= MAX_ATTEMPTS) {
                // Each attempt ended with its worker (killed, out of memory, a crash in native code): a fourth would
                // too, and a worker that restarts and resumes it would never stop trying.
                update(job.toBuilder().setState(Job.State.FAILED).setError("its worker stopped during each of its "
                        + job.getAttempts() + " attempts (killed, or out of memory)"));
                log.accept("job " + id + " failed: " + job.getAttempts() + " attempts ended with their worker");
                return;
            }
            job = update(job.toBuilder().setState(Job.State.RUNNING).setAttempts(job.getAttempts() + 1)
                    .setProgress("started (attempt " + (job.getAttempts() + 1) + ")").clearError());
            SubmitJobRequest request = job.getRequest();
            for (String tier : request.getTiersList()) {
                tierLocks.add(awaitTierLock(id, request.getModel(), tier));
            }
            Job.Builder done = job.toBuilder().clearTiers();
            List<Double> remaining = new ArrayList<>();
            TierTable table = store.tiers(request.getModel());
            for (String tier : request.getTiersList()) {
                Optional<StoredVariant> existing = alreadyPublished(id, request.getModel(), tier, table);
                if (existing.isPresent()) {
                    done.addTiers(TierOutcome.newBuilder().setTier(tier).setVariantId(existing.get().id())
                            .setReason("already published (" + existing.get().manifest().method() + ", measured "
                                    + String.format(Locale.ROOT, "%.2fx", existing.get().manifest().measuredSpeedup())
                                    + ")"));
                } else {
                    remaining.add(TierNames.parse(tier));
                }
            }
            if (!remaining.isEmpty()) {
                Path parent = models.parentFile(request.getModel())
                        .orElseThrow(() -> new IllegalStateException("model '" + request.getModel() + "' is gone"));
                PlanRequest plan = planRequest(id, request, parent, remaining);
                for (TierDecision decision : new TierPlanner(store, line -> progress(id, line)).plan(plan)) {
                    done.addTiers(toWire(decision));
                }
            }
            update(done.setState(Job.State.SUCCEEDED).setProgress("done"));
            log.accept("job " + id + " succeeded");
        } catch (LeaseLostException e) {
            // Another worker may own the job now: its record is not ours to write any more.
            mine.remove(id);
            log.accept("job " + id + " stopped here: " + e.getMessage());
        } catch (CancellationException e) {
            update(mine.getOrDefault(id, job).toBuilder().setState(Job.State.CANCELLED).setProgress("cancelled"));
            log.accept("job " + id + " cancelled");
        } catch (RuntimeException | Error e) {
            update(mine.getOrDefault(id, job).toBuilder().setState(Job.State.FAILED).setError(
                    e.getClass().getSimpleName() + ": " + e.getMessage()));
            log.accept("job " + id + " failed: " + e);
        } finally {
            held.remove(id);
            tierLocks.forEach(JobQueue.Lease::close);
            mine.remove(id);
            cancelRequested.remove(id);
        }
    }

    private JobQueue.Lease awaitTierLock(String id, String model, String tier) {
        boolean announced = false;
        while (true) {
            Optional<JobQueue.Lease> lock = jobs.tryAcquire(model, "tier-" + tier);
            if (lock.isPresent()) {
                return lock.get();
            }
            if (!announced) {
                progress(id, "waiting: another job is compressing " + model + " " + tier);
                announced = true;
            }
            checkCancelled(id);
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("worker stopping");
            }
        }
    }

    /** A variant this job published in an earlier attempt, or the tier's stable variant from any job. */
    private Optional<StoredVariant> alreadyPublished(String id, String model, String tier, TierTable table) {
        List<StoredVariant> variants = store.variants(model);
        Optional<StoredVariant> ours = variants.stream().filter(v -> v.tier().equals(tier)
                && id.equals(v.manifest().parameters().get("jobId"))).findFirst();
        if (ours.isPresent()) {
            return ours;
        }
        TierTable.Assignment assigned = table.get(tier);
        return assigned == null ? Optional.empty()
                : variants.stream().filter(v -> v.id().equals(assigned.stable())).findFirst();
    }

    private PlanRequest planRequest(String id, SubmitJobRequest request, Path parent, List<Double> tiers) {
        return PlanRequest.builder(request.getModel(), parent).tiers(tiers)
                .methods(Method.parseAll(request.getMethodsList()))
                .calibration(request.getCalibration().isEmpty() ? "brown" : request.getCalibration())
                .calibrationTexts(request.getCalibrationTexts())
                .testTexts(request.getTestTexts() > 0 ? request.getTestTexts() : defaults.testTexts())
                .runtime(RuntimeWire.fromWire(request.getRuntime())).minQuality(request.getMinQuality())
                .pooling(PoolingWire.fromWire(request.getPooling())).normalize(request.getNormalize())
                .precisions(PrecisionWire.fromWire(request.getPrecisionsList())).jobId(id).build();
    }

    private void progress(String id, String text) {
        checkCancelled(id);
        String line = lastLine(text);
        log.accept("job " + id + ": " + line);
        Job job = mine.get(id);
        if (job != null) {
            update(job.toBuilder().setProgress(line));
        }
    }

    private void checkCancelled(String id) {
        for (JobQueue.Lease lease : held.getOrDefault(id, List.of())) {
            if (!lease.held()) {
                throw new LeaseLostException("job " + id + " lost its lease (the store could not be reached in time)");
            }
        }
        if (cancelRequested.contains(id) || Thread.currentThread().isInterrupted()) {
            throw new CancellationException("job " + id + " cancelled");
        }
    }

    private Job update(Job.Builder builder) {
        Job job = builder.setUpdated(Instant.now().toString()).build();
        if (finished(job)) {
            mine.remove(job.getId());
        } else {
            mine.put(job.getId(), job);
        }
        jobs.save(job);
        for (Consumer<Job> watcher : watchers.getOrDefault(job.getId(), List.of())) {
            watcher.accept(job);
        }
        if (finished(job)) {
            watchers.remove(job.getId());
        }
        return job;
    }

    private Optional<Job> current(String id) {
        Job job = mine.get(id);
        return job != null ? Optional.of(job) : jobs.find(id);
    }

    private static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        String line = lines.length == 0 ? "" : lines[lines.length - 1].strip();
        return line.length() > 500 ? line.substring(0, 500) + "…" : line;
    }

    // ---- wire conversions -----------------------------------------------------------------------------------

    private static TierOutcome toWire(TierDecision decision) {
        TierOutcome.Builder outcome = TierOutcome.newBuilder().setTier(TierNames.format(decision.tier()))
                .setReason(decision.reason());
        if (decision.published()) {
            outcome.setVariantId(decision.variantId());
        }
        for (Candidate c : decision.candidates()) {
            outcome.addCandidates(dev.tierserve.proto.compressor.Candidate.newBuilder().setMethod(c.method())
                    .setMeasuredSpeedup(c.measuredSpeedup()).setMeanCosine(Double.isNaN(c.meanCosine()) ? 0 : c.meanCosine())
                    .setChosen(c.chosen()).setRejectedBecause(c.rejectedBecause() == null ? "" : c.rejectedBecause()));
        }
        return outcome.build();
    }
}
