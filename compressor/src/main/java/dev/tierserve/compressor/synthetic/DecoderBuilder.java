package dev.tierserve.compressor.synthetic;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.StructureDetector;

import java.util.ArrayList;
import java.util.List;

import static dev.tierserve.compressor.synthetic.GraphWriter.integer;
import static dev.tierserve.compressor.synthetic.GraphWriter.ints;
import static dev.tierserve.compressor.synthetic.GraphWriter.real;

/**
 * Writes GPT-2-style and Llama-style decoder graphs laid out as the PyTorch exporter (opset 17) lays out the
 * Hugging Face implementations, with random weights from a fixed seed. No pretrained decoder can be fetched
 * on these machines; these models exercise structure detection, edits and latency, and say they are
 * synthetic in their metadata, doc string and producer name.
 *
 * <p>Inputs: {@code input_ids}, {@code attention_mask} [batch, past + sequence], {@code position_ids}, and
 * with a cache {@code past_key_values.<i>.key|value} [batch, kv heads, past, head dim]. Outputs:
 * {@code logits} and with a cache {@code present.<i>.key|value}.
 */
public final class DecoderBuilder {

    private static final int INT64 = TensorProto.DataType.INT64_VALUE;
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int BOOL = TensorProto.DataType.BOOL_VALUE;

    private final DecoderConfig config;
    private final GraphWriter w;
    private final List<String> outputs = new ArrayList<>();

    private DecoderBuilder(DecoderConfig config) {
        this.config = config;
        this.w = new GraphWriter(config.seed());
    }

    public static ModelProto build(DecoderConfig config) {
        return new DecoderBuilder(config).build();
    }

    private ModelProto build() {
        boolean gpt2 = config.family() == DecoderConfig.Family.GPT2;
        String root = gpt2 ? "/transformer" : "/model";
        declareInputs();
        String mask = causalMask(root);
        String stream;
        String[] rotary = null;
        if (gpt2) {
            String tokens = w.node("/transformer/wte", "Gather", List.of(
                    w.randomInitializer("transformer.wte.weight", new long[] {config.vocab(), config.hidden()}, 0.02),
                    "input_ids"));
            String positions = w.node("/transformer/wpe", "Gather", List.of(
                    w.randomInitializer("transformer.wpe.weight", new long[] {config.maxPositions(), config.hidden()},
                            0.01), "position_ids"));
            stream = w.node("/transformer", "Add", List.of(tokens, positions));
        } else {
            stream = w.node("/model/embed_tokens", "Gather", List.of(
                    w.randomInitializer("model.embed_tokens.weight", new long[] {config.vocab(), config.hidden()}, 0.02),
                    "input_ids"));
            rotary = rotaryTables();
        }
        for (int i = 0; i < config.layers(); i++) {
            stream = gpt2 ? gpt2Layer(i, stream, mask) : llamaLayer(i, stream, mask, rotary);
        }
        String normed = gpt2
                ? layerNorm("/transformer/ln_f", "transformer.ln_f", stream)
                : rmsNorm("/model/norm", "model.norm.weight", stream);
        w.nodeWithOutputs("/lm_head", "MatMul", List.of(normed, w.matMulWeight(config.hidden(), config.vocab(), 0.02)),
                List.of("logits"));
        w.graph().addOutput(0, MutableGraph.valueInfo("logits", FLOAT, List.of("batch", "sequence", config.vocab())));

        w.graph().setName("synthetic_" + config.family().name().toLowerCase(java.util.Locale.ROOT) + "_decoder");
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setProducerName("tierserve-synthetic")
                .setProducerVersion("1")
                .setDocString("SYNTHETIC: " + config.describe() + ". Random weights; outputs carry no meaning.")
                .addMetadataProps(StringStringEntryProto.newBuilder()
                        .setKey(StructureDetector.SYNTHETIC_METADATA_KEY).setValue("true"))
                .addMetadataProps(StringStringEntryProto.newBuilder().setKey("tierserve.synthetic.config")
                        .setValue(config.describe()))
                .setGraph(w.graph())
                .build();
    }

    private void declareInputs() {
        w.graph().addInput(MutableGraph.valueInfo("input_ids", INT64, List.of("batch", "sequence")));
        w.graph().addInput(MutableGraph.valueInfo("attention_mask", INT64, List.of("batch", "total_sequence")));
        w.graph().addInput(MutableGraph.valueInfo("position_ids", INT64, List.of("batch", "sequence")));
        if (config.cache()) {
            for (int i = 0; i < config.layers(); i++) {
                for (String part : List.of("key", "value")) {
                    w.graph().addInput(MutableGraph.valueInfo("past_key_values." + i + "." + part, FLOAT,
                            List.of("batch", config.kvHeads(), "past_sequence", config.headDim())));
                    w.graph().addOutput(MutableGraph.valueInfo("present." + i + "." + part, FLOAT,
                            List.of("batch", config.kvHeads(), "total_sequence", config.headDim())));
                }
            }
        }
    }

    /** Additive mask [batch, 1, sequence, past + sequence]: 0 where a query may attend, -1e9 elsewhere. */
    private String causalMask(String root) {
        String scope = root + "/mask";
        String sequence = w.node(scope, "Gather", List.of(w.node(scope, "Shape", List.of("input_ids")),
                w.scalarLong(scope, 1)), integer("axis", 0));
        String past = config.cache()
                ? w.node(scope, "Gather", List.of(w.node(scope, "Shape", List.of("past_key_values.0.key")),
                w.scalarLong(scope, 2)), integer("axis", 0))
                : w.scalarLong(scope, 0);
        String total = w.node(scope, "Add", List.of(past, sequence));
        String one = w.scalarLong(scope, 1);
        String keyPositions = w.node(scope, "Range", List.of(w.scalarLong(scope, 0), total, one));
        String queryPositions = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Range", List.of(past, total, one)),
                w.longs(scope, 1)));
        String causal = w.node(scope, "LessOrEqual", List.of(keyPositions, queryPositions));
        String padding = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Cast", List.of("attention_mask"),
                integer("to", BOOL)), w.longs(scope, 1, 2)));
        String allowed = w.node(scope, "And", List.of(causal, padding));
        return w.node(scope, "Where", List.of(allowed, w.scalarFloat(scope, 0f), w.scalarFloat(scope, -1e9f)));
    }

    // ---- GPT-2 ----

    private String gpt2Layer(int i, String x, String mask) {
        String scope = "/transformer/h." + i;
        String param = "transformer.h." + i;
        int d = config.hidden();
        String normed = layerNorm(scope + "/ln_1", param + ".ln_1", x);
        String qkv = linear(scope + "/attn/c_attn", normed, d, 3 * d, param + ".attn.c_attn.bias");
        String splitScope = scope + "/attn";
        String[] parts = {splitScope + "/Split_output_0", splitScope + "/Split_output_1", splitScope + "/Split_output_2"};
        w.nodeWithOutputs(splitScope, "Split", List.of(qkv, w.longs(splitScope, d, d, d)), List.of(parts),
                integer("axis", 2));
        String q = splitHeads(splitScope, parts[0], config.heads());
        String k = withCache(splitScope, splitHeads(splitScope, parts[1], config.heads()), i, "key");
        String v = withCache(splitScope, splitHeads(splitScope, parts[2], config.heads()), i, "value");
        String scores = w.node(splitScope, "MatMul", List.of(q, w.node(splitScope, "Transpose", List.of(k),
                ints("perm", 0, 1, 3, 2))));
        String scaled = w.node(splitScope, "Div", List.of(scores,
                w.scalarFloat(splitScope, (float) Math.sqrt(config.headDim()))));
        String context = attend(splitScope, scaled, mask, v);
        String attention = linear(scope + "/attn/c_proj", context, d, d, param + ".attn.c_proj.bias");
        String h = w.node(scope, "Add", List.of(x, attention));

        String normed2 = layerNorm(scope + "/ln_2", param + ".ln_2", h);
        String fc = linear(scope + "/mlp/c_fc", normed2, d, config.ffn(), param + ".mlp.c_fc.bias");
        String activation = geluTanh(scope + "/mlp/act", fc);
        String mlp = linear(scope + "/mlp/c_proj", activation, config.ffn(), d, param + ".mlp.c_proj.bias");
        return w.node(scope, "Add", List.of(h, mlp));
    }

    /** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    private String geluTanh(String scope, String x) {
        String cube = w.node(scope, "Pow", List.of(x, w.scalarFloat(scope, 3f)));
        String inner = w.node(scope, "Add", List.of(x, w.node(scope, "Mul", List.of(cube, w.scalarFloat(scope, 0.044715f)))));
        String tanh = w.node(scope, "Tanh", List.of(w.node(scope, "Mul", List.of(inner,
                w.scalarFloat(scope, (float) Math.sqrt(2 / Math.PI))))));
        String half = w.node(scope, "Mul", List.of(x, w.scalarFloat(scope, 0.5f)));
        return w.node(scope, "Mul", List.of(half, w.node(scope, "Add", List.of(tanh, w.scalarFloat(scope, 1f)))));
    }

    private String layerNorm(String scope, String param, String x) {
        String weight = w.normWeight(param + ".weight", config.hidden());
        String bias = w.randomInitializer(param + ".bias", new long[] {config.hidden()}, 0.02);
        return w.node(scope, "LayerNormalization", List.of(x, weight, bias), integer("axis", -1),
                real("epsilon", 1e-5f));
    }

    // ---- Llama ----

    private String llamaLayer(int i, String x, String mask, String[] rotary) {
        String scope = "/model/layers." + i;
        String param = "model.layers." + i;
        int d = config.hidden();
        int headDim = config.headDim();
        String normed = rmsNorm(scope + "/input_layernorm", param + ".input_layernorm.weight", x);
        String attn = scope + "/self_attn";
        String q = w.node(attn + "/q_proj", "MatMul", List.of(normed, w.matMulWeight(d, config.heads() * headDim, 0.05)));
        String k = w.node(attn + "/k_proj", "MatMul", List.of(normed, w.matMulWeight(d, config.kvHeads() * headDim, 0.05)));
        String v = w.node(attn + "/v_proj", "MatMul", List.of(normed, w.matMulWeight(d, config.kvHeads() * headDim, 0.05)));
        String queries = rotate(attn, splitHeads(attn, q, config.heads()), rotary);
        String keys = repeatKv(attn, withCache(attn, rotate(attn, splitHeads(attn, k, config.kvHeads()), rotary), i, "key"));
        String values = repeatKv(attn, withCache(attn, splitHeads(attn, v, config.kvHeads()), i, "value"));
        String scores = w.node(attn, "MatMul", List.of(queries, w.node(attn, "Transpose", List.of(keys),
                ints("perm", 0, 1, 3, 2))));
        String scaled = w.node(attn, "Mul", List.of(scores, w.scalarFloat(attn, (float) (1 / Math.sqrt(headDim)))));
        String context = attend(attn, scaled, mask, values);
        String attention = w.node(attn + "/o_proj", "MatMul", List.of(context,
                w.matMulWeight(config.heads() * headDim, d, 0.05)));
        String h = w.node(scope, "Add", List.of(x, attention));

        String normed2 = rmsNorm(scope + "/post_attention_layernorm", param + ".post_attention_layernorm.weight", h);
        String mlp = scope + "/mlp";
        String gate = w.node(mlp + "/gate_proj", "MatMul", List.of(normed2, w.matMulWeight(d, config.ffn(), 0.05)));
        String up = w.node(mlp + "/up_proj", "MatMul", List.of(normed2, w.matMulWeight(d, config.ffn(), 0.05)));
        String silu = w.node(mlp + "/act_fn", "Mul", List.of(gate, w.node(mlp + "/act_fn", "Sigmoid", List.of(gate))));
        String activation = w.node(mlp, "Mul", List.of(silu, up));
        String down = w.node(mlp + "/down_proj", "MatMul", List.of(activation, w.matMulWeight(config.ffn(), d, 0.05)));
        return w.node(scope, "Add", List.of(h, down));
    }

    /** x · 1/√(mean(x²) + ε) · weight, as transformers' LlamaRMSNorm exports. */
    private String rmsNorm(String scope, String weightName, String x) {
        String squares = w.node(scope, "Pow", List.of(x, w.scalarFloat(scope, 2f)));
        String variance = w.node(scope, "ReduceMean", List.of(squares), ints("axes", -1), integer("keepdims", 1));
        String inverse = w.node(scope, "Reciprocal", List.of(w.node(scope, "Sqrt", List.of(
                w.node(scope, "Add", List.of(variance, w.scalarFloat(scope, 1e-6f)))))));
        String normalised = w.node(scope, "Mul", List.of(x, inverse));
        return w.node(scope, "Mul", List.of(w.normWeight(weightName, config.hidden()), normalised));
    }

    /** cos and sin tables [batch, 1, sequence, head dim] from position_ids, shared by every layer. */
    private String[] rotaryTables() {
        String scope = "/model/rotary_emb";
        int half = config.headDim() / 2;
        float[] inverse = new float[half];
        for (int j = 0; j < half; j++) {
            inverse[j] = (float) (1.0 / Math.pow(10000, 2.0 * j / config.headDim()));
        }
        String frequencies = w.initializer(TensorData.floatTensor("model.rotary_emb.inv_freq", new long[] {half}, inverse));
        String positions = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Cast", List.of("position_ids"),
                integer("to", FLOAT)), w.longs(scope, 2)));
        String angles = w.node(scope, "Mul", List.of(positions, frequencies));
        String both = w.node(scope, "Concat", List.of(angles, angles), integer("axis", -1));
        String cos = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Cos", List.of(both)), w.longs(scope, 1)));
        String sin = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Sin", List.of(both)), w.longs(scope, 1)));
        return new String[] {cos, sin};
    }

    /** x·cos + rotate_half(x)·sin, with rotate_half(x) = [-x₂, x₁] over the head dimension. */
    private String rotate(String scope, String x, String[] rotary) {
        int half = config.headDim() / 2;
        String first = w.node(scope, "Slice", List.of(x, w.longs(scope, 0), w.longs(scope, half), w.longs(scope, 3)));
        String second = w.node(scope, "Slice", List.of(x, w.longs(scope, half), w.longs(scope, Long.MAX_VALUE),
                w.longs(scope, 3)));
        String rotated = w.node(scope, "Concat", List.of(w.node(scope, "Neg", List.of(second)), first),
                integer("axis", -1));
        return w.node(scope, "Add", List.of(w.node(scope, "Mul", List.of(x, rotary[0])),
                w.node(scope, "Mul", List.of(rotated, rotary[1]))));
    }

    /** Grouped-query attention: each KV head serves heads/kvHeads query heads (transformers' repeat_kv). */
    private String repeatKv(String scope, String x) {
        int repeats = config.heads() / config.kvHeads();
        if (repeats == 1) {
            return x;
        }
        String shape = w.node(scope, "Shape", List.of(x));
        String batch = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Gather", List.of(shape, w.scalarLong(scope, 0)),
                integer("axis", 0)), w.longs(scope, 0)));
        String length = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Gather", List.of(shape, w.scalarLong(scope, 2)),
                integer("axis", 0)), w.longs(scope, 0)));
        String expanded = w.node(scope, "Expand", List.of(w.node(scope, "Unsqueeze", List.of(x, w.longs(scope, 2))),
                w.node(scope, "Concat", List.of(batch, w.longs(scope, config.kvHeads()), w.longs(scope, repeats), length,
                        w.longs(scope, config.headDim())), integer("axis", 0))));
        return w.node(scope, "Reshape", List.of(expanded, w.node(scope, "Concat", List.of(batch,
                w.longs(scope, config.heads()), length, w.longs(scope, config.headDim())), integer("axis", 0))));
    }

    // ---- shared ----

    private String linear(String scope, String x, int in, int out, String biasName) {
        String product = w.node(scope, "MatMul", List.of(x, w.matMulWeight(in, out, 0.05)));
        return w.node(scope, "Add", List.of(w.randomInitializer(biasName, new long[] {out}, 0.02), product));
    }

    /** [batch, seq, heads·dim] → [batch, heads, seq, dim], with the shape built as the exporter builds it. */
    private String splitHeads(String scope, String x, int heads) {
        String shape = w.node(scope, "Shape", List.of(x));
        String batch = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Gather", List.of(shape, w.scalarLong(scope, 0)),
                integer("axis", 0)), w.longs(scope, 0)));
        String length = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Gather", List.of(shape, w.scalarLong(scope, 1)),
                integer("axis", 0)), w.longs(scope, 0)));
        String target = w.node(scope, "Concat", List.of(batch, length, w.longs(scope, heads),
                w.longs(scope, config.headDim())), integer("axis", 0));
        return w.node(scope, "Transpose", List.of(w.node(scope, "Reshape", List.of(x, target))), ints("perm", 0, 2, 1, 3));
    }

    /** With a cache: concatenates the past along the sequence axis and returns it as the present. */
    private String withCache(String scope, String x, int layer, String part) {
        if (!config.cache()) {
            return x;
        }
        String present = "present." + layer + "." + part;
        w.nodeWithOutputs(scope, "Concat", List.of("past_key_values." + layer + "." + part, x), List.of(present),
                integer("axis", 2));
        return present;
    }

    /** softmax(scores + mask) · V, back to [batch, seq, heads·dim]. */
    private String attend(String scope, String scores, String mask, String values) {
        String probabilities = w.node(scope, "Softmax", List.of(w.node(scope, "Add", List.of(scores, mask))),
                integer("axis", -1));
        String context = w.node(scope, "Transpose", List.of(w.node(scope, "MatMul", List.of(probabilities, values))),
                ints("perm", 0, 2, 1, 3));
        String shape = w.node(scope, "Shape", List.of(context));
        String batch = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Gather", List.of(shape, w.scalarLong(scope, 0)),
                integer("axis", 0)), w.longs(scope, 0)));
        String length = w.node(scope, "Unsqueeze", List.of(w.node(scope, "Gather", List.of(shape, w.scalarLong(scope, 1)),
                integer("axis", 0)), w.longs(scope, 0)));
        String target = w.node(scope, "Concat", List.of(batch, length, w.longs(scope, (long) config.heads()
                * config.headDim())), integer("axis", 0));
        return w.node(scope, "Reshape", List.of(context, target));
    }
}
