package dev.tierserve.compressor.calib;

import dev.tierserve.compressor.data.EncodedBatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pools a [batch, sequence, width] model output into one embedding per text, as the served model does: the first
 * token's state or the mean over real tokens, then L2-normalised when asked. Holds one vector per evaluated text,
 * which is the evaluation's result, not the calibration data.
 */
public final class EmbeddingCollector implements ActivationCollector {

    private final String output;
    private final Pooling pooling;
    private final boolean normalize;
    private final List<float[]> embeddings = new ArrayList<>();

    public EmbeddingCollector(String output, Pooling pooling, boolean normalize) {
        this.output = output;
        this.pooling = pooling;
        this.normalize = normalize;
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
            // The mean's scale, or the L2 norm's; a text without real tokens pools to zeros.
            double scale = count;
            if (normalize) {
                double norm = 0;
                for (double v : sum) {
                    norm += v * v;
                }
                scale = Math.sqrt(norm);
            }
            float[] embedding = new float[width];
            for (int c = 0; c < width; c++) {
                embedding[c] = (float) (count == 0 || scale == 0 ? 0 : sum[c] / scale);
            }
            embeddings.add(embedding);
        }
    }

    public float[][] embeddings() {
        return embeddings.toArray(new float[0][]);
    }
}
