package dev.tierserve.compressor.graph.search;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;

import java.util.Map;

/**
 * A model rewritten so that one ONNX Runtime session evaluates many candidates: masks, gates and chosen
 * weights are graph inputs, and chosen activations are extra outputs. Maps are keyed by layer index.
 * ONNX Runtime's Java API cannot feed an initializer listed as an input, so these inputs are required and
 * {@link #defaults()} holds what reproduces the original model (ones for masks and gates, the stored weights).
 *
 * @param headMasks      layer → input name of a float [heads] mask multiplying each head's context
 * @param channelMasks   layer → input name of a float [intermediate] mask on the MLP activation
 * @param attentionGates layer → input name of a float [1] gate: 1 = the block as is, 0 = the block removed
 * @param mlpGates       layer → input name of the MLP sub-block's gate
 * @param probes         output name → the activation it exposes (see {@link Probe})
 * @param defaults       input name → the value that leaves the model unchanged
 */
public record SearchGraph(ModelProto model, Map<Integer, String> headMasks, Map<Integer, String> channelMasks,
                          Map<Integer, String> attentionGates, Map<Integer, String> mlpGates,
                          Map<String, Probe> probes, Map<String, TensorProto> defaults) {

    /** An exposed activation of one layer. */
    public record Probe(int layer, Kind kind) {

        public enum Kind {
            /** what Q, K and V read */
            ATTENTION_INPUT,
            /** the (masked) attention context: the output projection's input */
            ATTENTION_CONTEXT,
            /** the attention output projection's result, before the residual Add */
            ATTENTION_OUTPUT,
            /** what the MLP's up (and gate) projections read */
            MLP_INPUT,
            /** the (masked) activation the down projection reads */
            MLP_ACTIVATION,
            /** the MLP down projection's result, before the residual Add */
            MLP_OUTPUT
        }
    }

    /** The output holding Σ x xᵀ (double, over unpadded tokens) of a probe's activation, per batch. */
    public static String gramName(int layer, Probe.Kind kind) {
        return "gram." + layer + "." + kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    public static String probeName(int layer, Probe.Kind kind) {
        return "probe." + layer + "." + kind.name().toLowerCase(java.util.Locale.ROOT);
    }
}
