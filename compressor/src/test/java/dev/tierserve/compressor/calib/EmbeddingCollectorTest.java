package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Pooling and L2 normalisation of a [batch, sequence, width] output, as the served model pools it. */
class EmbeddingCollectorTest {

    /** Two texts of three positions, width 2; the second text's last position is padding. */
    private static final EncodedBatch BATCH = new EncodedBatch(new long[6], new long[] {1, 1, 1, 1, 1, 0}, new long[6],
            2, 3);
    private static final Activation STATES = new Activation(new float[] {
            3, 4, 1, 2, 2, 0,      // text 0
            0, 2, 6, 6, 100, 100,  // text 1 (the last row is padding)
    }, new long[] {2, 3, 2});

    private static float[][] pool(Pooling pooling, boolean normalize) {
        EmbeddingCollector collector = new EmbeddingCollector("last_hidden_state", pooling, normalize);
        collector.accept(Map.of("last_hidden_state", STATES), BATCH);
        return collector.embeddings();
    }

    @Test
    void meanPoolingAveragesTheRealTokensAndNormalisesOnlyWhenAsked() {
        assertArrayEquals(new float[][] {{2, 2}, {3, 4}}, pool(Pooling.MEAN, false));
        float r = (float) Math.sqrt(0.5);
        assertArrayEquals(new float[][] {{r, r}, {0.6f, 0.8f}}, pool(Pooling.MEAN, true));
    }

    @Test
    void clsPoolingTakesTheFirstTokenAndNormalisesOnlyWhenAsked() {
        assertArrayEquals(new float[][] {{3, 4}, {0, 2}}, pool(Pooling.CLS, false));
        assertArrayEquals(new float[][] {{0.6f, 0.8f}, {0, 1}}, pool(Pooling.CLS, true));
    }
}
