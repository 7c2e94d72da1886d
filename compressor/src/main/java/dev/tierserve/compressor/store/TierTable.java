package dev.tierserve.compressor.store;

import java.util.Map;
import java.util.TreeMap;

/**
 * {@code tiers.json}: per tier, the variant that answers it (stable) and one being rolled out beside it (canary,
 * answering {@code canaryWeight} of the tier's requests).
 */
public record TierTable(Map<String, Assignment> tiers) {

    public record Assignment(String stable, String canary, double canaryWeight) {
    }

    public TierTable {
        tiers = Map.copyOf(tiers);
    }

    public static TierTable empty() {
        return new TierTable(Map.of());
    }

    public Assignment get(String tier) {
        return tiers.get(tier);
    }

    public TierTable withStable(String tier, String variantId) {
        Map<String, Assignment> next = new TreeMap<>(tiers);
        Assignment old = tiers.get(tier);
        next.put(tier, new Assignment(variantId, old == null ? null : old.canary(), old == null ? 0 : old.canaryWeight()));
        return new TierTable(next);
    }
}
