package dev.tierserve.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code tiers.json}: per tier, the variant that answers it (stable) and one being rolled out beside it (canary,
 * answering {@code canaryWeight} of the tier's requests, and compared with {@code exact} on {@code shadowRate} of
 * them), and the history of every rollout change. The whole table is written with one atomic rename, so the state
 * and its history never disagree.
 */
public record TierTable(Map<String, Assignment> tiers, List<RolloutEvent> history) {

    /** The most recent history entries kept; older ones are dropped as new ones come. */
    public static final int HISTORY_LIMIT = 500;

    /** The share of a tier's requests a newly published canary is compared with exact on, before it serves any. */
    public static final double INITIAL_SHADOW_RATE = 0.1;

    /**
     * @param failedChecks the canary's consecutive failed judgements (a restart resumes the count)
     */
    public record Assignment(String stable, String canary, double canaryWeight, double shadowRate, int failedChecks) {

        public Assignment {
            if (canaryWeight < 0 || canaryWeight > 1 || shadowRate < 0 || shadowRate > 1) {
                throw new IllegalArgumentException("weights are shares in [0, 1]: canary weight " + canaryWeight
                        + ", shadow rate " + shadowRate);
            }
        }

        public static Assignment stable(String variantId) {
            return new Assignment(variantId, null, 0, 0, 0);
        }

        public boolean hasCanary() {
            return canary != null;
        }

        public Assignment withCanary(String variantId, double weight, double rate) {
            return new Assignment(stable, variantId, weight, rate, 0);
        }

        public Assignment withWeight(double weight, int failed) {
            return new Assignment(stable, canary, weight, shadowRate, failed);
        }

        public Assignment withShadowRate(double rate) {
            return new Assignment(stable, canary, canaryWeight, rate, failedChecks);
        }

        /** The canary becomes stable; the old stable variant stays published for a later rollback by hand. */
        public Assignment promoted() {
            return stable(canary);
        }

        public Assignment rolledBack() {
            return stable(stable);
        }
    }

    public TierTable {
        tiers = Map.copyOf(tiers);
        history = history == null ? List.of() : List.copyOf(history);
    }

    public static TierTable empty() {
        return new TierTable(Map.of(), List.of());
    }

    public Assignment get(String tier) {
        return tiers.get(tier);
    }

    /** The tier's assignment, or an empty one (no stable variant, no canary). */
    public Assignment assignment(String tier) {
        Assignment assigned = tiers.get(tier);
        return assigned != null ? assigned : new Assignment(null, null, 0, 0, 0);
    }

    /**
     * The tier's assignment if it has a canary, and that canary is {@code expected} (null: any).
     *
     * @throws RejectedTierChange otherwise
     */
    Assignment requireCanary(String tier, String expected) {
        Assignment assigned = assignment(tier);
        if (!assigned.hasCanary()) {
            throw new RejectedTierChange(RejectedTierChange.Reason.NO_CANARY, "tier " + tier + " has no canary");
        }
        if (expected != null && !expected.equals(assigned.canary())) {
            throw new RejectedTierChange(RejectedTierChange.Reason.CANARY_CHANGED, "tier " + tier + " now has canary "
                    + assigned.canary() + ", not " + expected);
        }
        return assigned;
    }

    public TierTable withStable(String tier, String variantId) {
        Assignment old = tiers.get(tier);
        return with(tier, old == null ? Assignment.stable(variantId)
                : new Assignment(variantId, old.canary(), old.canaryWeight(), old.shadowRate(), old.failedChecks()));
    }

    /**
     * The table after {@code variantId} was published for {@code tier}: the tier's first variant becomes its stable
     * one; a later one becomes its canary at weight 0 with {@link #INITIAL_SHADOW_RATE}, compared with exact in
     * shadow before it serves (replacing any canary being rolled out), recorded in the history. Publishing the stable
     * variant or the canary again changes nothing.
     *
     * @param by what published it, for the history (e.g. a job id)
     */
    public TierTable published(String tier, String variantId, String by, String time) {
        Assignment assigned = tiers.get(tier);
        if (assigned == null || assigned.stable() == null) {
            return withStable(tier, variantId);
        }
        if (assigned.stable().equals(variantId) || variantId.equals(assigned.canary())) {
            return this;
        }
        return with(tier, assigned.withCanary(variantId, 0, INITIAL_SHADOW_RATE)).recording(new RolloutEvent(time,
                tier, RolloutAction.CANARY, variantId, assigned.canaryWeight(), 0, "compressor", "published by " + by
                + " for a tier that already has stable variant " + assigned.stable(), Map.of()));
    }

    /** The table with {@code tier} assigned so, history unchanged. */
    public TierTable with(String tier, Assignment assignment) {
        Map<String, Assignment> next = new TreeMap<>(tiers);
        next.put(tier, assignment);
        return new TierTable(next, history);
    }

    /** The table with {@code event} appended to its history (the oldest dropped past {@link #HISTORY_LIMIT}). */
    public TierTable recording(RolloutEvent event) {
        List<RolloutEvent> next = new ArrayList<>(history);
        next.add(event);
        if (next.size() > HISTORY_LIMIT) {
            next = next.subList(next.size() - HISTORY_LIMIT, next.size());
        }
        return new TierTable(tiers, next);
    }
}
