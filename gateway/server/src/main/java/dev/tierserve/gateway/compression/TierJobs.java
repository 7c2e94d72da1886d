package dev.tierserve.gateway.compression;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.tier.Tier;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.jobs.RuntimeWire;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.Precision;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.proto.compressor.TierOutcome;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The compression jobs the gateway started for tiers that had no variant: one per model and tier however many
 * requests ask, followed until they end. When a job publishes, the catalog is refreshed so the next request gets the
 * variant; when it ends without one, the tier is reported unavailable (with the job's reason) until the retry delay
 * has passed.
 */
@ApplicationScoped
public class TierJobs {

    private static final Logger LOG = Logger.getLogger(TierJobs.class);
    private static final Duration RESUBMIT_AFTER_UNREACHABLE = Duration.ofSeconds(5);

    /**
     * What is known about one model's tier being built. Immutable; replaced on every change.
     *
     * @param submitted completes once a submission in flight has an answer (null when none is in flight)
     */
    private record Tracked(String jobId, String status, boolean ended, long retryAtNanos,
                           CompletableFuture<Void> submitted, Job.State state) {

        /** The job's state as the gauge names it; "submitting" before it has one, "unreachable" when none started. */
        String stateName() {
            return state != null ? state.name().toLowerCase(Locale.ROOT) : submitted != null ? "submitting" : "unreachable";
        }
    }

    private final CompressorClient compressor;
    private final VariantCatalog catalog;
    private final ModelRepository repository;
    private final GatewayConfig config;
    private final OnnxRuntimeFactory runtime;
    private final Map<String, Tracked> tracked = new ConcurrentHashMap<>();
    private final ScheduledExecutorService follower = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "tier-jobs");
        thread.setDaemon(true);
        return thread;
    });

    TierJobs(CompressorClient compressor, VariantCatalog catalog, ModelRepository repository, GatewayConfig config,
             OnnxRuntimeFactory runtime, MeterRegistry meters) {
        this.compressor = compressor;
        this.catalog = catalog;
        this.repository = repository;
        this.config = config;
        this.runtime = runtime;
        long every = Math.max(50, config.variants().watchInterval().toMillis());
        follower.scheduleWithFixedDelay(this::followAll, every, every, TimeUnit.MILLISECONDS);
        for (String state : List.of("submitting", "unreachable", "queued", "running", "succeeded", "failed",
                "cancelled")) {
            Gauge.builder("tierserve_compression_jobs", this, jobs -> jobs.count(state)).tag("state", state)
                    .description("tiers this gateway asked to build, by the state of their job").register(meters);
        }
    }

    private long count(String state) {
        return tracked.values().stream().filter(t -> t.stateName().equals(state)).count();
    }

    /** Pre-compute on start: tiers listed in a model's config ({@code parameters { key: "tiers" ... }}). */
    void onStart(@Observes StartupEvent event) {
        for (ModelEntry model : repository.models()) {
            if (model.kind() != ModelKind.ONNX) {
                continue;
            }
            List<String> missing = new ArrayList<>();
            for (String tier : model.parameter("tiers", "").split(",")) {
                if (!tier.isBlank() && catalog.of(model.name()).forTier(Tier.parse(tier).name()).isEmpty()) {
                    missing.add(Tier.parse(tier).name());
                }
            }
            if (!missing.isEmpty()) {
                LOG.infof("pre-computing %s %s", model.name(), missing);
                ensureAll(model, missing);
            }
        }
    }

    /**
     * Makes sure a job is building {@code tier} of {@code model}'s parent (starting one only if none is, and not
     * again within the retry delay after one ended without a variant). Never waits: the returned future completes
     * with what a client should be told once a submission in flight has its answer.
     */
    public CompletableFuture<String> ensure(ModelEntry model, String tier) {
        ensureAll(model, List.of(tier));
        String key = key(model.sessionKey(), tier);
        Tracked now = tracked.get(key);
        CompletableFuture<Void> submitted = now == null || now.submitted() == null
                ? CompletableFuture.completedFuture(null) : now.submitted();
        return submitted.thenApply(ignored -> clientMessage(tracked.get(key)));
    }

    /** What a client is told about a tier's job. */
    private static String clientMessage(Tracked tracked) {
        return tracked == null ? "the tier's variant was just published"
                : tracked.jobId() == null ? tracked.status() : "job " + tracked.jobId() + ": " + tracked.status();
    }

    /** Whether a job for this tier of the model has been asked for since the gateway started. */
    public boolean requested(String model, String tier) {
        return tracked.containsKey(key(model, tier));
    }

    /**
     * Like {@link #ensure} for several tiers, starting one job for all of those not already being built. The job
     * measures quality on the embedding the model is served with (see {@link ServedEmbedding}).
     */
    public void ensureAll(ModelEntry model, List<String> tiers) {
        String parent = model.sessionKey();
        List<String> starting = new ArrayList<>();
        CompletableFuture<Void> submitted = new CompletableFuture<>();
        for (String tier : tiers) {
            tracked.compute(key(parent, tier), (k, old) -> {
                if (old != null && (!old.ended() || System.nanoTime() < old.retryAtNanos())) {
                    return old;
                }
                starting.add(tier);
                return new Tracked(null, "a compression job is being submitted", false, 0, submitted, null);
            });
        }
        if (!starting.isEmpty()) {
            // outside compute: its callback may update the map at once
            submit(parent, ServedEmbedding.of(model, repository), starting, submitted);
        }
    }

    private static String key(String model, String tier) {
        return model + "|" + tier;
    }

    private void submit(String model, ServedEmbedding embedding, List<String> tiers, CompletableFuture<Void> submitted) {
        GatewayConfig.Compressor settings = config.compressor();
        SubmitJobRequest.Builder request = SubmitJobRequest.newBuilder().setModel(model).addAllTiers(tiers)
                .setCalibrationTexts(settings.calibrationTexts()).setTestTexts(settings.testTexts())
                .setMinQuality(settings.minQuality())
                .setRuntime(RuntimeWire.toWire(CompressorClients.servingRuntime(config, runtime)))
                .setPooling(embedding.pooling()).setNormalize(embedding.normalize());
        settings.methods().ifPresent(request::addAllMethods);
        settings.precisions().ifPresent(precisions -> precisions.forEach(p -> request.addPrecisions(switch (p) {
            case FLOAT32 -> Precision.PRECISION_FLOAT32;
            case INT8 -> Precision.PRECISION_INT8;
        })));
        compressor.submit(request.build()).whenComplete((job, error) -> {
            for (String tier : tiers) {
                if (error != null) {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null
                            ? error.getCause() : error;
                    LOG.warnf("cannot start a job for %s %s: %s", model, tier, cause.getMessage());
                    tracked.put(key(model, tier), new Tracked(null, "no job could be started: " + cause.getMessage(),
                            true, System.nanoTime() + RESUBMIT_AFTER_UNREACHABLE.toNanos(), null, null));
                } else {
                    LOG.infof("job %s builds %s %s", job.getId(), model, tier);
                    tracked.put(key(model, tier), describe(job, tier));
                }
            }
            submitted.complete(null);
        });
    }

    private void followAll() {
        tracked.forEach((key, entry) -> {
            if (entry.jobId() == null || entry.ended()) {
                return;
            }
            String model = key.substring(0, key.indexOf('|'));
            String tier = key.substring(key.indexOf('|') + 1);
            try {
                Job job = compressor.job(entry.jobId()).get(30, TimeUnit.SECONDS);
                Tracked next = describe(job, tier);
                if (next.ended()) {
                    if (catalog.refresh(model).forTier(tier).isPresent()) {
                        tracked.remove(key);
                        return;
                    }
                    LOG.infof("job %s ended without a variant for %s %s: %s", job.getId(), model, tier, next.status());
                }
                tracked.put(key, next);
            } catch (Exception e) {
                LOG.debugf("cannot follow job %s: %s", entry.jobId(), e.getMessage());
            }
        });
    }

    private Tracked describe(Job job, String tier) {
        boolean ended = job.getState() != Job.State.QUEUED && job.getState() != Job.State.RUNNING;
        String status = switch (job.getState()) {
            case SUCCEEDED -> job.getTiersList().stream().filter(t -> t.getTier().equals(tier))
                    .map(TierOutcome::getReason).findFirst().orElse("succeeded");
            case FAILED -> "failed: " + job.getError();
            default -> job.getState().name().toLowerCase() + ": " + job.getProgress();
        };
        return new Tracked(job.getId(), status, ended,
                ended ? System.nanoTime() + config.compressor().retryAfter().toNanos() : 0, null, job.getState());
    }

    @PreDestroy
    void stop() {
        follower.shutdownNow();
    }
}
