package dev.tierserve.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tiers.json: what a publish does to a tier, the history's bound, and the file round trip. */
class TierTableTest {

    private static final String NOW = "2026-11-30T00:00:00Z";

    @TempDir
    Path root;

    @Test
    void aTiersFirstVariantIsStableAndALaterOneEntersAsAShadowedCanaryAtWeightZero() {
        TierTable first = TierTable.empty().published("2x", "a", "job 1", NOW);
        assertEquals(TierTable.Assignment.stable("a"), first.get("2x"));
        assertEquals(List.of(), first.history());

        TierTable second = first.published("2x", "b", "job 2", NOW);
        TierTable.Assignment assigned = second.get("2x");
        assertEquals("a", assigned.stable(), "a publish never replaces the stable variant");
        assertEquals("b", assigned.canary());
        assertEquals(0, assigned.canaryWeight());
        assertEquals(TierTable.INITIAL_SHADOW_RATE, assigned.shadowRate());
        RolloutEvent event = second.history().get(0);
        assertEquals(RolloutAction.CANARY, event.action());
        assertEquals("compressor", event.actor());

        assertSame(second, second.published("2x", "a", "job 3", NOW), "the stable variant again: no change");
        assertSame(second, second.published("2x", "b", "job 3", NOW), "the canary again: no change");
    }

    @Test
    void theHistoryKeepsItsLatestEntriesAndTheFileRoundTrips() {
        TierTable table = TierTable.empty().withStable("2x", "a");
        for (int i = 0; i < TierTable.HISTORY_LIMIT + 5; i++) {
            table = table.recording(new RolloutEvent(NOW, "2x", RolloutAction.STEP, "b", 0, 0.1, "judge", "#" + i,
                    Map.of("agreement", 0.99)));
        }
        assertEquals(TierTable.HISTORY_LIMIT, table.history().size());
        assertEquals("#5", table.history().get(0).reason());

        VariantStore store = VariantStore.filesystem(root);
        TierTable written = store.updateTiers("m", new TierChange.Stable("2x", "a"));
        for (int i = 0; i < TierTable.HISTORY_LIMIT + 5; i++) {
            written = store.updateTiers("m", new TierChange.Shadow("2x", 0.5, "admin", "#" + i, NOW));
        }
        assertEquals(TierTable.HISTORY_LIMIT, written.history().size());
        assertEquals(written, store.tiers("m"), "re-read from disk");
    }

    @Test
    void aWeightOutsideZeroToOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new TierTable.Assignment("a", "b", 1.5, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new TierTable.Assignment("a", "b", 0.5, -0.1, 0));
        assertNull(TierTable.Assignment.stable("a").canary());
    }
}
