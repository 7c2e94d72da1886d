package dev.tierserve.gateway.rollout;

import dev.tierserve.compressor.store.RolloutAction;
import dev.tierserve.compressor.store.StoredVariant;
import dev.tierserve.compressor.store.TierTable;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.tier.VariantCatalog;
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
 * <li>latency: the canary's p99 compute time at most {@code latency-tolerance} times the stable variant's;</li>
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
    private final GatewayConfig.Rollout settings;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "rollout-judge");
        thread.setDaemon(true);
        return thread;
    });

    RolloutJudge(VariantCatalog catalog, Rollouts rollouts, CanaryEvidence evidence, GatewayConfig config) {
        this.catalog = catalog;
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
        values.put("canary_p99_ms", ofCanary.p99Nanos() / 1e6);
        List<String> failures = new ArrayList<>();

        double stableErrors = ofStable == null ? 0 : ofStable.errorRate();
        values.put("stable_error_rate", stableErrors);
        if (ofCanary.errorRate() > stableErrors + settings.errorTolerance()) {
            failures.add(String.format(Locale.ROOT, "error rate %.3f > stable's %.3f + %.3f", ofCanary.errorRate(),
                    stableErrors, settings.errorTolerance()));
        }
        if (ofStable != null && ofStable.succeeded() > 0) {
            values.put("stable_p99_ms", ofStable.p99Nanos() / 1e6);
            if (ofCanary.p99Nanos() > ofStable.p99Nanos() * settings.latencyTolerance()) {
                failures.add(String.format(Locale.ROOT, "p99 %.2f ms > %.2f x stable's %.2f ms",
                        ofCanary.p99Nanos() / 1e6, settings.latencyTolerance(), ofStable.p99Nanos() / 1e6));
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

        if (failures.isEmpty()) {
            if (assigned.canaryWeight() >= settings.maxWeight()) {
                rollouts.promoteIf(model, tier, canary, "judge", "passed every check at weight "
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
            rollouts.rollbackIf(model, tier, canary, "judge", reason + " (" + failed + " failed check(s) in a row)",
                    values);
            return Verdict.ROLLED_BACK;
        }
        rollouts.judged(model, tier, canary, assigned.canaryWeight(), failed, RolloutAction.CHECK_FAILED, reason,
                values);
        return Verdict.CHECK_FAILED;
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
