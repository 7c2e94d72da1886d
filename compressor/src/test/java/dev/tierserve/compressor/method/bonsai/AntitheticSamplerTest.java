package dev.tierserve.compressor.method.bonsai;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AntitheticSamplerTest {

    @Test
    void pairsAreComplementsWithinTheCandidatesAndFixedUnitsNeverChange() {
        List<Integer> candidates = List.of(1, 4, 5, 8, 9, 11, 13, 14);
        Set<Integer> candidateSet = Set.copyOf(candidates);
        List<boolean[]> masks = new AntitheticSampler(16, candidates, 0.25, 7).sample(200);
        assertEquals(400, masks.size());
        int dropped = 0;
        for (int p = 0; p < 200; p++) {
            boolean[] mask = masks.get(2 * p);
            boolean[] complement = masks.get(2 * p + 1);
            for (int u = 0; u < 16; u++) {
                if (candidateSet.contains(u)) {
                    assertNotEquals(mask[u], complement[u], "unit " + u + " kept by exactly one of the pair");
                    dropped += mask[u] ? 0 : 1;
                } else {
                    assertTrue(mask[u] && complement[u], "fixed unit " + u + " always kept");
                }
            }
        }
        assertEquals(0.25, dropped / (200.0 * 8), 0.04, "first masks drop a quarter of the candidates on average");
        assertNotEquals(List.of(masks.get(0)), List.of(masks.get(2)), "pairs differ");
    }
}
