package dev.tierserve.gateway.rollout;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.LatencyObjective;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.store.RolloutAction;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.TierTable;
import io.grpc.StatusRuntimeException;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Judges every canary each interval on what it did since its last judgement ({@link CanaryEvidence}), against the
 * tier's stable variant and against {@code exact}:
 * <ul>
 * <li>errors: the canary's error rate at most the stable variant's plus {@code error-tolerance};</li>
 * <li>latency: the canary's tail compute time (p99, or p90 when either side has fewer than {@link #P99_SAMPLES}
 * requests) at most {@code latency-tolerance} times the stable variant's, and, where
 * the tier has a latency objective ({@code latency_objective.<tier>} in a config.pbtxt), its compute time at the
 * objective's percentile within the objective (compute alone must fit; both sides share the queue);</li>
 * <li>quality: its mean agreement with exact on mirrored requests (cosine of the outputs) at least its manifest's
 * measured quality minus {@code quality-tolerance} (not judged while shadowing is off).</li>
 * </ul>
 * A canary with fewer than {@code min-requests} requests (or, while shadowing, comparisons) is not judged yet. One that
 * passes steps up by {@code step-weight} to {@code max-weight}, and is promoted when it passes there; one that fails
 * {@code failure-threshold} judgements in a row is rolled back at once. Every verdict is recorded with its figures.
 */
@Startup
@ApplicationScoped
public class RolloutJudge {

    private static final Logger LOG = Logger.getLogger(RolloutJudge.class);

    /** What one judgement decided. */
    public enum Verdict { NOT_ENOUGH_EVIDENCE, STEPPED, PROMOTED, CHECK_FAILED, ROLLED_BACK }

    private final VariantCatalog catalog;
    private final Rollouts rollouts;
    private final CanaryEvidence evidence;
    private final ModelRepository repository;
    private final GatewayConfig.Rollout settings;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "rollout-judge");
        thread.setDaemon(true);
        return thread;
    });

    RolloutJudge(VariantCatalog catalog, Rollouts rollouts, CanaryEvidence evidence, ModelRepository repository,
                 GatewayConfig config) {
        this.catalog = catalog;
        this.repository = repository;
        this.rollouts = rollouts;
        this.evidence = evidence;
        this.settings = config.rollout();
        long every = Math.max(100, settings.interval().toMillis());
        timer.scheduleWithFixedDelay(this::judgeAll, every, every, TimeUnit.MILLISECONDS);
    }

    /** Judges every canary of every model now. */
    public synchronized Map<String, Verdict> judgeAll() {
        Map<String, Verdict> verdicts = new LinkedHashMap<>();
        for (String model : catalog.models()) {
            for (Map.Entry<String, TierTable.Assignment> tier : catalog.of(model).table().tiers().entrySet()) {
                if (tier.getValue().hasCanary()) {
                    try {
                        verdicts.put(model + "/" + tier.getKey(), judge(model, tier.getKey(), tier.getValue()));
                    } catch (StatusRuntimeException | java.io.UncheckedIOException e) {
                        LOG.warnf("cannot judge the canary of %s/%s: %s", model, tier.getKey(), e.getMessage());
                    }
                }
            }
        }
        return verdicts;
    }

    private Verdict judge(String model, String tier, TierTable.Assignment assigned) {
        String canary = assigned.canary();
        CanaryEvidence.Figures ofCanary = evidence.figures(model, tier, canary);
        CanaryEvidence.Figures ofStable = assigned.stable() == null ? null
                : evidence.figures(model, tier, assigned.stable());
        boolean judgeQuality = assigned.shadowRate() > 0;
        if (ofCanary.requests() < settings.minRequests()
                || (judgeQuality && ofCanary.compared() < Math.max(1, settings.minRequests() / 4))) {
            return Verdict.NOT_ENOUGH_EVIDENCE;
        }
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("canary_requests", (double) ofCanary.requests());
        values.put("canary_error_rate", ofCanary.errorRate());
        List<String> failures = new ArrayList<>();

        double stableErrors = ofStable == null ? 0 : ofStable.errorRate();
        values.put("stable_error_rate", stableErrors);
        if (ofCanary.errorRate() > stableErrors + settings.errorTolerance()) {
            failures.add(String.format(Locale.ROOT, "error rate %.3f > stable's %.3f + %.3f", ofCanary.errorRate(),
                    stableErrors, settings.errorTolerance()));
        }
        if (ofStable != null && ofStable.succeeded() > 0) {
            int percentile = tailPercentile(Math.min(ofCanary.succeeded(), ofStable.succeeded()));
            long canaryTail = ofCanary.computeNanosAt(percentile);
            long stableTail = ofStable.computeNanosAt(percentile);
            values.put("canary_p" + percentile + "_ms", canaryTail / 1e6);
            values.put("stable_p" + percentile + "_ms", stableTail / 1e6);
            if (canaryTail > stableTail * settings.latencyTolerance()) {
                failures.add(String.format(Locale.ROOT, "p%d %.2f ms > %.2f x stable's %.2f ms", percentile,
                        canaryTail / 1e6, settings.latencyTolerance(), stableTail / 1e6));
            }
        }
        for (LatencyObjective objective : objectives(model, tier)) {
            long at = ofCanary.computeNanosAt(objective.percentile());
            String name = String.format(Locale.ROOT, "canary_p%s_ms", trim(objective.percentile()));
            values.put(name, at / 1e6);
            values.put("objective_" + name, objective.max().toNanos() / 1e6);
            if (at > objective.max().toNanos()) {
                failures.add(String.format(Locale.ROOT, "p%s %.2f ms of compute alone exceeds the tier's objective "
                        + "p%s<=%.2f ms", trim(objective.percentile()), at / 1e6, trim(objective.percentile()),
                        objective.max().toNanos() / 1e6));
            }
        }
        if (judgeQuality) {
            double floor = qualityFloor(model, canary);
            values.put("agreement", ofCanary.meanAgreement());
            values.put("agreement_min", ofCanary.minAgreement());
            values.put("agreement_floor", floor);
            values.put("compared", (double) ofCanary.compared());
            if (!(ofCanary.meanAgreement() >= floor)) {
                failures.add(String.format(Locale.ROOT, "agreement with exact %.4f < floor %.4f",
                        ofCanary.meanAgreement(), floor));
            }
        }
        evidence.reset(model, tier);
        LOG.infof("judged canary %s of %s/%s: %s %s", canary, model, tier,
                failures.isEmpty() ? "passed" : String.join("; ", failures), values);

        if (failures.isEmpty()) {
            if (assigned.canaryWeight() >= settings.maxWeight()) {
                rollouts.end(model, tier, canary, RolloutAction.PROMOTE, "judge", "passed every check at weight "
                        + assigned.canaryWeight(), values);
                return Verdict.PROMOTED;
            }
            double next = Math.min(settings.maxWeight(), assigned.canaryWeight() + settings.stepWeight());
            rollouts.judged(model, tier, canary, next, 0, RolloutAction.STEP, "passed every check", values);
            return Verdict.STEPPED;
        }
        String reason = String.join("; ", failures);
        int failed = assigned.failedChecks() + 1;
        if (failed >= settings.failureThreshold()) {
            rollouts.end(model, tier, canary, RolloutAction.ROLLBACK, "judge",
                    reason + " (" + failed + " failed check(s) in a row)", values);
            return Verdict.ROLLED_BACK;
        }
        rollouts.judged(model, tier, canary, assigned.canaryWeight(), failed, RolloutAction.CHECK_FAILED, reason,
                values);
        return Verdict.CHECK_FAILED;
    }

    /** Requests each side needs in a window for its p99 to be compared: ten beyond the 99th percentile. */
    static final int P99_SAMPLES = 1000;

    /**
     * The tail percentile two sides are compared at: p99 when each has {@link #P99_SAMPLES} requests, else p90. The
     * p99 of a hundred requests is the second-slowest one: on this project's 2-core machine two equal copies of a
     * model differed by 1.7x at it in one of three windows of 104 requests.
     */
    static int tailPercentile(long samples) {
        return samples >= P99_SAMPLES ? 99 : 90;
    }

    /**
     * The latency objectives declared for {@code tier} by the repository's models served by {@code model} (the model
     * itself and any text model over it).
     */
    private List<LatencyObjective> objectives(String model, String tier) {
        List<LatencyObjective> objectives = new ArrayList<>();
        for (ModelEntry entry : repository.models()) {
            if (entry.sessionKey().equals(model)) {
                entry.objectives().stream().filter(o -> o.tier().equals(tier)).forEach(objectives::add);
            }
        }
        return objectives;
    }

    private static String trim(double percentile) {
        return percentile == Math.rint(percentile) ? Long.toString((long) percentile) : Double.toString(percentile);
    }

    /** The canary's measured quality (its manifest's mean cosine to the parent) minus the tolerance. */
    private double qualityFloor(String model, String canary) {
        double measured = catalog.of(model).byId(canary).map(StoredVariant::meanCosine).orElse(Double.NaN);
        return Double.isNaN(measured) ? 1 - settings.qualityTolerance() : measured - settings.qualityTolerance();
    }

    @PreDestroy
    void stop() {
        timer.shutdownNow();
    }
}
