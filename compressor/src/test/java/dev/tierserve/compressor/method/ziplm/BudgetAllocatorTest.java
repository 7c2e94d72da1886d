package dev.tierserve.compressor.method.ziplm;

import dev.tierserve.compressor.method.ziplm.BudgetAllocator.Level;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BudgetAllocatorTest {

    @Test
    void findsTheMinimumErrorAssignmentCheckedByBruteForce() {
        Random random = new Random(5);
        for (int trial = 0; trial < 20; trial++) {
            List<List<Level>> blocks = new ArrayList<>();
            for (int b = 0; b < 5; b++) {
                List<Level> levels = new ArrayList<>();
                levels.add(new Level(0, 1.0));
                for (int l = 1; l < 4; l++) {
                    // Integer times keep the discretisation exact, so the check is exact too.
                    levels.add(new Level(1 + random.nextInt(6), random.nextDouble() * 0.9));
                }
                blocks.add(levels);
            }
            double[] weights = {1, 1, 1, 1, 1};
            double budget = 8 + random.nextInt(10);
            int[] picks = BudgetAllocator.allocate(blocks, weights, budget, (int) budget);
            double bestError = Double.POSITIVE_INFINITY;
            for (int code = 0; code < 4 * 4 * 4 * 4 * 4; code++) {
                double time = 0;
                double error = 0;
                for (int b = 0, c = code; b < 5; b++, c /= 4) {
                    time += blocks.get(b).get(c % 4).time();
                    error += blocks.get(b).get(c % 4).error();
                }
                if (time <= budget) {
                    bestError = Math.min(bestError, error);
                }
            }
            double time = 0;
            double error = 0;
            for (int b = 0; b < 5; b++) {
                time += blocks.get(b).get(picks[b]).time();
                error += blocks.get(b).get(picks[b]).error();
            }
            assertTrue(time <= budget, "within budget");
            assertEquals(bestError, error, 1e-12, "trial " + trial);
        }
    }

    @Test
    void noSolutionWhenEvenTheFastestLevelsExceedTheBudget() {
        List<List<Level>> blocks = List.of(List.of(new Level(5, 0)), List.of(new Level(5, 0)));
        assertNull(BudgetAllocator.allocate(blocks, new double[] {1, 1}, 9, 90));
    }
}
