package dev.tierserve.compressor.graph.structure;

import java.util.Locale;

/** The structure map as the table {@code compressor inspect} prints: layers, heads, widths, parameters, FLOPs. */
public final class StructureReport {

    private StructureReport() {
    }

    public static String render(StructureMap map, int sequenceLength) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%s transformer, %d layers, hidden %d%s%n",
                map.layout() == StructureMap.Layout.POST_NORM ? "post-norm encoder" : "pre-norm decoder",
                map.layerCount(), map.hiddenSize(),
                map.synthetic() ? "  [SYNTHETIC: random weights, no quality meaning]" : ""));
        out.append("stream starts at ").append(map.streamStart()).append('\n');
        out.append(String.format(Locale.ROOT, "FLOPs are per token at sequence length %d (2 x multiply-adds)%n",
                sequenceLength));
        out.append(String.format(Locale.ROOT, "%-5s %-9s %5s %5s %6s %7s %-10s %12s %12s %12s %12s%n",
                "layer", "norm", "heads", "kv", "hdim", "ffn", "act", "attn params", "attn FLOPs", "mlp params",
                "mlp FLOPs"));
        long totalParams = 0;
        long totalFlops = 0;
        for (TransformerLayer layer : map.layers()) {
            AttentionBlock a = layer.attention();
            MlpBlock m = layer.mlp();
            long attentionFlops = a == null ? 0
                    : a.projectionFlopsPerToken() + a.attentionFlopsPerToken(sequenceLength);
            long mlpFlops = m == null ? 0 : m.flopsPerToken();
            out.append(String.format(Locale.ROOT, "%-5d %-9s %5s %5s %6s %7s %-10s %12s %12s %12s %12s%n",
                    layer.index(), normKind(layer),
                    a == null ? "-" : a.heads(), a == null ? "-" : a.kvHeads(), a == null ? "-" : a.headDim(),
                    m == null ? "-" : m.intermediateSize(), m == null ? "-" : m.activationKind(),
                    a == null ? "dropped" : a.parameterCount(), a == null ? "-" : attentionFlops,
                    m == null ? "dropped" : m.parameterCount(), m == null ? "-" : mlpFlops));
            totalParams += (a == null ? 0 : a.parameterCount()) + (m == null ? 0 : m.parameterCount());
            totalFlops += attentionFlops + mlpFlops;
        }
        out.append(String.format(Locale.ROOT, "layers total: %,d parameters, %,d FLOPs per token%n",
                totalParams, totalFlops));
        if (map.lmHead() != null) {
            out.append(String.format(Locale.ROOT, "lm head: %d -> %d (%,d parameters)%n",
                    map.lmHead().inFeatures(), map.lmHead().outFeatures(), map.lmHead().parameterCount()));
        }
        for (TransformerLayer layer : map.layers()) {
            AttentionBlock a = layer.attention();
            if (a != null && a.hasCache()) {
                out.append(String.format(Locale.ROOT, "layer %d cache: %s, %s -> %s, %s%n", layer.index(), a.pastKey(),
                        a.pastValue(), a.presentKey(), a.presentValue()));
            }
        }
        out.append("embeddings: ").append(String.join(", ", map.embeddings())).append('\n');
        return out.toString();
    }

    private static String normKind(TransformerLayer layer) {
        var norm = layer.attentionNorm() != null ? layer.attentionNorm() : layer.mlpNorm();
        if (norm == null) {
            return "-";
        }
        return norm.kind() == Norm.Kind.RMS_NORM ? "rmsnorm" : "layernorm";
    }
}
