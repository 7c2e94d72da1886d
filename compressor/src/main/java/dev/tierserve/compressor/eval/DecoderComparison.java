package dev.tierserve.compressor.eval;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.runtime.Feeds;
import dev.tierserve.compressor.runtime.Sessions;
import dev.tierserve.store.DecoderQuality;
import dev.tierserve.store.RuntimeSettings;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Runs a variant decoder and its parent on the same batches: the figures of {@link DecoderQuality}. */
public final class DecoderComparison {

    private DecoderComparison() {
    }

    public static DecoderQuality evaluate(ModelProto parent, ModelProto variant, List<EncodedBatch> batches,
                                          RuntimeSettings.Provider provider, int threads, boolean synthetic) {
        OrtSession parentSession = Sessions.open(parent, provider, threads);
        OrtSession variantSession = Sessions.open(variant, provider, threads);
        double parentNll = 0;
        double variantNll = 0;
        double kl = 0;
        long positions = 0;
        try {
            for (EncodedBatch batch : batches) {
                float[] p = logits(parentSession, batch);
                float[] q = logits(variantSession, batch);
                int vocab = p.length / (batch.batch() * batch.sequence());
                long[] mask = batch.attentionMask();
                long[] ids = batch.inputIds();
                for (int b = 0; b < batch.batch(); b++) {
                    for (int s = 0; s + 1 < batch.sequence(); s++) {
                        int here = b * batch.sequence() + s;
                        if (mask[here] == 0 || mask[here + 1] == 0) {
                            continue;
                        }
                        double[] logP = logSoftmax(p, here * vocab, vocab);
                        double[] logQ = logSoftmax(q, here * vocab, vocab);
                        int target = (int) ids[here + 1];
                        parentNll -= logP[target];
                        variantNll -= logQ[target];
                        for (int v = 0; v < vocab; v++) {
                            kl += Math.exp(logP[v]) * (logP[v] - logQ[v]);
                        }
                        positions++;
                    }
                }
            }
        } finally {
            Sessions.closeQuietly(parentSession);
            Sessions.closeQuietly(variantSession);
        }
        if (positions == 0) {
            throw new IllegalArgumentException("no position with a next token to predict");
        }
        return new DecoderQuality(Math.exp(variantNll / positions), Math.exp(parentNll / positions), kl / positions,
                positions, synthetic);
    }

    /** Token ids folded into a smaller (synthetic) vocabulary, so any tokenizer can feed a synthetic decoder. */
    public static EncodedBatch foldIntoVocabulary(EncodedBatch batch, int vocabulary) {
        long[] ids = batch.inputIds().clone();
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ids[i] % vocabulary;
        }
        return new EncodedBatch(ids, batch.attentionMask(), batch.tokenTypeIds(), batch.batch(), batch.sequence());
    }

    private static float[] logits(OrtSession session, EncodedBatch batch) {
        Map<String, OnnxTensor> feeds = Feeds.forBatch(session, batch, Set.of());
        try (OrtSession.Result result = session.run(feeds, Set.of("logits"))) {
            FloatBuffer buffer = ((OnnxTensor) result.get(0)).getFloatBuffer();
            float[] values = new float[buffer.remaining()];
            buffer.get(values);
            return values;
        } catch (OrtException e) {
            throw new IllegalStateException("decoder run failed: " + e.getMessage(), e);
        } finally {
            Feeds.close(feeds);
        }
    }

    private static double[] logSoftmax(float[] logits, int offset, int vocab) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[offset + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            sum += Math.exp(logits[offset + v] - max);
        }
        double log = max + Math.log(sum);
        double[] result = new double[vocab];
        for (int v = 0; v < vocab; v++) {
            result[v] = logits[offset + v] - log;
        }
        return result;
    }
}
