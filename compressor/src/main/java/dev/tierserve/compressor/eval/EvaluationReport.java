package dev.tierserve.compressor.eval;

import dev.tierserve.store.DecoderQuality;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.RuntimeSettings;

import java.util.List;
import java.util.Locale;

/**
 * Everything {@code compressor evaluate} measured. The first result is the parent against itself.
 *
 * @param synthetic true when the parent is one of the project's random-weight decoders: its figures test the
 *                  machinery, they say nothing about quality
 * @param pooling   cls or mean (encoders; null for decoders)
 * @param normalize whether the pooled embeddings were L2-normalised (encoders; null for decoders)
 */
public record EvaluationReport(String parent, boolean synthetic, RuntimeSettings latencySettings, int warmupRuns,
                               int rounds, String data, int trainTexts, int testTexts, int evaluationSequence,
                               String pooling, Boolean normalize, List<VariantResult> results) {

    public String render() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "parent %s%s%n", parent,
                synthetic ? "  [SYNTHETIC decoder: these figures test the machinery, not quality]" : ""));
        String embeddings = pooling == null ? ""
                : ", " + pooling + " pooling" + (Boolean.TRUE.equals(normalize) ? ", L2-normalised" : "");
        out.append(String.format(Locale.ROOT, "data %s: %d test texts%s, sequence %d%s%n", data, testTexts,
                trainTexts > 0 ? ", " + trainTexts + " classifier training texts" : "", evaluationSequence, embeddings));
        out.append(String.format(Locale.ROOT, "latency: %s, %d intra-op thread(s), batch %d x sequence %d, %d warm-up "
                        + "runs, %d interleaved rounds, medians%n", latencySettings.provider(), latencySettings.threads(),
                latencySettings.batch(), latencySettings.sequence(), warmupRuns, rounds));
        boolean encoder = results.get(0).encoder() != null;
        if (encoder) {
            out.append(String.format(Locale.ROOT, "%-36s %9s %8s %9s %9s %9s %9s %9s%n", "model", "median ms", "speedup",
                    "cos mean", "cos p5", "top10 agr", "accuracy", "parent acc"));
            for (VariantResult r : results) {
                EncoderQuality q = r.encoder();
                out.append(String.format(Locale.ROOT, "%-36s %9.2f %7.2fx %9.4f %9.4f %9.4f %9s %9s%n", r.name(),
                        r.medianMs(), r.measuredSpeedup(), q.meanCosine(), q.p5Cosine(), q.retrievalAgreement(),
                        percent(q.variantAccuracy()), percent(q.parentAccuracy())));
            }
        } else {
            out.append(String.format(Locale.ROOT, "%-36s %9s %8s %11s %11s %10s%n", "model", "median ms", "speedup",
                    "perplexity", "parent ppl", "KL(p||q)"));
            for (VariantResult r : results) {
                DecoderQuality q = r.decoder();
                out.append(String.format(Locale.ROOT, "%-36s %9.2f %7.2fx %11.3f %11.3f %10.5f%n", r.name(),
                        r.medianMs(), r.measuredSpeedup(), q.variantPerplexity(), q.parentPerplexity(), q.meanKl()));
            }
        }
        return out.toString();
    }

    private static String percent(Double value) {
        return value == null ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * value);
    }
}
