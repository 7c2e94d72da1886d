package dev.tierserve.gateway.rollout;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Histogram;

/**
 * What the judge decides a canary on, gathered since its last decision, per model, tier and variant: requests that
 * succeeded and failed, their compute times (an HdrHistogram), and for the canary its agreement with {@code exact} on
 * mirrored requests. Compute time, not end-to-end time: both sides wait in the same queue, so queueing says nothing
 * about the variant.
 */
@ApplicationScoped
public class CanaryEvidence {

    /** One variant's figures since the last decision; {@code compute} is a copy, the caller's own. */
    public record Figures(long succeeded, long failed, Histogram compute, long compared, double meanAgreement,
                          double minAgreement) {

        public long requests() {
            return succeeded + failed;
        }

        /** The compute time at {@code percentile} of the successful requests; 0 when there were none. */
        public long computeNanosAt(double percentile) {
            return succeeded == 0 ? 0 : compute.getValueAtPercentile(percentile);
        }

        public double errorRate() {
            return requests() == 0 ? 0 : (double) failed / requests();
        }
    }

    private record Key(String model, String tier, String variant) {
    }

    /** Mutable figures of one variant, guarded by its own monitor. */
    private static final class Side {
        private final Histogram compute = new Histogram(3_600_000_000_000L, 2);
        private long succeeded;
        private long failed;
        private long compared;
        private double agreementSum;
        private double agreementMin = Double.NaN;

        synchronized void succeeded(long computeNanos) {
            succeeded++;
            compute.recordValue(Math.max(1, Math.min(computeNanos, compute.getHighestTrackableValue())));
        }

        synchronized void failed() {
            failed++;
        }

        synchronized void compared(double agreement) {
            compared++;
            agreementSum += agreement;
            agreementMin = Double.isNaN(agreementMin) ? agreement : Math.min(agreementMin, agreement);
        }

        synchronized Figures figures() {
            return new Figures(succeeded, failed, compute.copy(), compared,
                    compared == 0 ? Double.NaN : agreementSum / compared, agreementMin);
        }
    }

    private final Map<Key, Side> sides = new ConcurrentHashMap<>();

    public void succeeded(String model, String tier, String variant, long computeNanos) {
        side(model, tier, variant).succeeded(computeNanos);
    }

    public void failed(String model, String tier, String variant) {
        side(model, tier, variant).failed();
    }

    /** The canary's output agreed with exact's on one mirrored request to {@code agreement} (mean cosine). */
    public void compared(String model, String tier, String variant, double agreement) {
        side(model, tier, variant).compared(agreement);
    }

    /** A variant's figures since its last {@link #reset}. */
    public Figures figures(String model, String tier, String variant) {
        return side(model, tier, variant).figures();
    }

    /** Starts the tier's next judgement window: its variants' figures start over. */
    public void reset(String model, String tier) {
        sides.keySet().removeIf(key -> key.model().equals(model) && key.tier().equals(tier));
    }

    private Side side(String model, String tier, String variant) {
        return sides.computeIfAbsent(new Key(model, tier, variant), k -> new Side());
    }
}
