package dev.tierserve.compressor.plan;

import java.util.List;

/**
 * What the planner decided for one tier: the published variant (null when none) and why, with every candidate
 * it weighed.
 */
public record TierDecision(double tier, String variantId, String reason, List<Candidate> candidates) {

    public boolean published() {
        return variantId != null;
    }
}
