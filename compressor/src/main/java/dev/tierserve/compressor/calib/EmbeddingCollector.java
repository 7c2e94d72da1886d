package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pools a [batch, sequence, width] model output into one L2-normalised embedding per text. Holds one vector
 * per evaluated text, which is the evaluation's result, not the calibration data.
 */
public final class EmbeddingCollector implements ActivationCollector {

    private final String output;
    private final Pooling pooling;
    private final List<float[]> embeddings = new ArrayList<>();

    public EmbeddingCollector(String output, Pooling pooling) {
        this.output = output;
        this.pooling = pooling;
    }

    @Override
    public Set<String> outputs() {
        return Set.of(output);
    }

    @Override
    public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
        Activation activation = outputs.get(output);
        int width = activation.width();
        int sequence = batch.sequence();
        float[] values = activation.values();
        for (int b = 0; b < batch.batch(); b++) {
            double[] sum = new double[width];
            int count = 0;
            for (int s = 0; s < (pooling == Pooling.CLS ? 1 : sequence); s++) {
                if (batch.attentionMask()[b * sequence + s] == 0) {
                    continue;
                }
                int offset = (b * sequence + s) * width;
                for (int c = 0; c < width; c++) {
                    sum[c] += values[offset + c];
                }
                count++;
            }
            double norm = 0;
            for (double v : sum) {
                norm += v * v;
            }
            norm = Math.sqrt(norm);
            float[] embedding = new float[width];
            for (int c = 0; c < width; c++) {
                embedding[c] = (float) (count == 0 || norm == 0 ? 0 : sum[c] / norm);
            }
            embeddings.add(embedding);
        }
    }

    public float[][] embeddings() {
        return embeddings.toArray(new float[0][]);
    }
}
