package dev.tierserve.compressor.method.recovery;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.calib.Activation;
import dev.tierserve.compressor.calib.ActivationCollector;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.WeightRewrite;
import dev.tierserve.compressor.graph.structure.Projection;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Refits the output projection of every sub-block a compressed model still has, in stream order, so that its
 * residual stream follows the parent's: for sub-block k with input x' (attention context or MLP activation, as
 * the compressed model computes it with the earlier refits in place) and residual input r', the projection's
 * weight and bias become the ridge solution of
 * <pre>  min ‖[x' 1]·[W; b] − (s_parent − r')‖² + λ‖[W; b] − [W₀; b₀]‖²</pre>
 * where s_parent is the parent's residual sum after the same sub-block on the same tokens and [W₀; b₀] the
 * current (e.g. OBS-updated) weights. Per-layer OBS minimises each block's error on the parent's inputs; this
 * corrects what it cannot see, the drift the blocks before it introduced. Forward-only: one closed-form solve
 * per sub-block from statistics ONNX Runtime accumulates over the unpadded tokens.
 *
 * <p>With the parent itself as the compressed model the residual is zero and the weights come back unchanged.
 */
public final class OutputProjectionRefit {

    /**
     * λ as a multiple of the mean diagonal of Σ x'x'ᵀ. A strong pull towards the current weights: with a few
     * thousand calibration tokens per up to 1537 unknowns a weak one fits the calibration texts' drift, not the
     * model's (on all-MiniLM-L6 with 8k tokens, held-out error after ZipLM fell from 0.339 to 0.323 at 1.0 and rose
     * to 0.354 at 0.03).
     */
    public static final double DEFAULT_RIDGE = 1.0;

    private static final String TARGET = "refit.parent_sum";
    private static final String INPUT_GRAM = "refit.input_gram";
    private static final String CROSS_GRAM = "refit.cross_gram";

    private final CalibrationRunner runner;
    private final double ridge;
    private final Consumer<String> log;

    public OutputProjectionRefit(CalibrationRunner runner, double ridge, Consumer<String> log) {
        this.runner = runner;
        this.ridge = ridge;
        this.log = log;
    }

    /** {@code compressed} with refitted output projections; shapes and graph unchanged, only their values. */
    public ModelProto refit(ModelProto compressed, ModelProto parent, List<EncodedBatch> texts) {
        long begin = System.nanoTime();
        StructureMap parentMap = StructureDetector.detect(parent);
        StructureMap map = StructureDetector.detect(compressed);
        List<SubBlock> blocks = subBlocks(compressed, map, parentMap);
        if (blocks.isEmpty()) {
            return compressed;
        }
        ModelProto current = compressed;
        // Both streams are kept per batch and advanced one step at a time, so that each step runs one sub-block,
        // not the model up to it, and memory holds one step's streams whatever the number of texts.
        List<float[]> stream = record(current, blocks.get(0).residual(), texts);
        List<float[]> parentSum = record(parent, blocks.get(0).parentSum(), texts);
        for (int k = 0; k < blocks.size(); k++) {
            SubBlock block = blocks.get(k);
            current = refitOne(current, block, texts, stream, parentSum);
            if (k + 1 < blocks.size()) {
                SubBlock next = blocks.get(k + 1);
                stream = advance(current, block.residual(), next.residual(), texts, stream);
                parentSum = advance(parent, block.parentSum(), next.parentSum(), texts, parentSum);
            }
        }
        log.accept(String.format(Locale.ROOT, "refit: %d output projections on %d texts in %.1f s", blocks.size(),
                texts.stream().mapToInt(EncodedBatch::batch).sum(), (System.nanoTime() - begin) / 1e9));
        return current;
    }

    /**
     * A sub-block of the compressed model: its output projection, the stream its residual Add adds the projection
     * to (the stream entering the sub-block), and the tensor holding the parent's residual sum after the same
     * sub-block.
     */
    private record SubBlock(String label, Projection projection, String residual, String parentSum) {
    }

    private static List<SubBlock> subBlocks(ModelProto model, StructureMap map, StructureMap parentMap) {
        MutableGraph graph = new MutableGraph(model);
        List<SubBlock> blocks = new ArrayList<>();
        for (TransformerLayer layer : map.layers()) {
            // By origin, not position: a layer that lost both sub-blocks moves the ones after it up.
            TransformerLayer parentLayer = parentMap.layers().stream().filter(p -> p.origin() == layer.origin())
                    .findFirst().orElseThrow(() -> new IllegalArgumentException("layer " + layer.index()
                            + " comes from layer " + layer.origin() + ", which the parent does not have"));
            if (layer.attention() != null) {
                Projection output = layer.attention().output();
                String add = layer.attention().residualAdd();
                blocks.add(new SubBlock("L" + layer.origin() + ".attention", output, residualOf(graph, add, output),
                        parentLayer.attention().residualAdd()));
            }
            if (layer.mlp() != null) {
                Projection down = layer.mlp().down();
                String add = layer.mlp().residualAdd();
                blocks.add(new SubBlock("L" + layer.origin() + ".mlp", down, residualOf(graph, add, down),
                        parentLayer.mlp().residualAdd()));
            }
        }
        return blocks;
    }

    /** The residual Add's other operand: the stream entering the sub-block, pre-norm and post-norm alike. */
    private static String residualOf(MutableGraph graph, String residualAdd, Projection projection) {
        NodeProto add = graph.requireProducer(residualAdd);
        return add.getInput(0).equals(projection.output()) ? add.getInput(1) : add.getInput(0);
    }

    /** One tensor of the model, per batch. */
    private List<float[]> record(ModelProto model, String tensor, List<EncodedBatch> texts) {
        MutableGraph graph = withoutOutputs(model);
        graph.addOutput(MutableGraph.untypedShapeOutput(tensor, TensorProto.DataType.FLOAT_VALUE));
        graph.removeDeadNodes();
        OutputRecorder recorder = new OutputRecorder(tensor);
        runner.run(graph.toModel(), Map.of(), texts, List.of(recorder));
        return batches(recorder, texts.size());
    }

    /** The stream {@code to}, per batch, computed from the stream {@code from} by the part of the model between. */
    private List<float[]> advance(ModelProto model, String from, String to, List<EncodedBatch> texts,
                                  List<float[]> stream) {
        MutableGraph graph = cutAt(model, from);
        graph.addOutput(MutableGraph.untypedShapeOutput(to, TensorProto.DataType.FLOAT_VALUE));
        graph.removeDeadNodes();
        OutputRecorder recorder = new OutputRecorder(to);
        try (CalibrationRunner.Session session = runner.open(graph.toModel())) {
            for (int b = 0; b < texts.size(); b++) {
                session.run(Map.of(from, streamTensor(from, texts.get(b), stream.get(b))), List.of(texts.get(b)),
                        List.of(recorder));
            }
        }
        return batches(recorder, texts.size());
    }

    /** The model with no outputs and {@code stream} a graph input instead of computed: what follows it runs alone. */
    private static MutableGraph cutAt(ModelProto model, String stream) {
        MutableGraph graph = withoutOutputs(model);
        graph.detachProducer(stream);
        graph.addInput(MutableGraph.floatValueInfo(stream, List.of("batch", "sequence", "hidden")));
        return graph;
    }

    private static MutableGraph withoutOutputs(ModelProto model) {
        MutableGraph graph = new MutableGraph(model);
        for (var output : List.copyOf(graph.outputs())) {
            graph.removeOutput(output.getName());
        }
        return graph;
    }

    private static TensorProto streamTensor(String name, EncodedBatch batch, float[] values) {
        return TensorData.floatTensor(name, new long[] {batch.batch(), batch.sequence(),
                values.length / ((long) batch.batch() * batch.sequence())}, values);
    }

    private static List<float[]> batches(OutputRecorder recorder, int count) {
        List<float[]> batches = new ArrayList<>(count);
        for (int b = 0; b < count; b++) {
            batches.add(recorder.batch(b));
        }
        return batches;
    }

    private ModelProto refitOne(ModelProto model, SubBlock block, List<EncodedBatch> texts, List<float[]> stream,
                                List<float[]> parentSum) {
        long begin = System.nanoTime();
        Projection projection = block.projection();
        int in = projection.inFeatures();
        int hidden = projection.outFeatures();
        GramSum gram = new GramSum();
        try (CalibrationRunner.Session session = runner.open(statisticsGraph(model, block, hidden))) {
            for (int b = 0; b < texts.size(); b++) {
                EncodedBatch batch = texts.get(b);
                TensorProto target = TensorData.floatTensor(TARGET,
                        new long[] {batch.batch(), batch.sequence(), hidden}, parentSum.get(b));
                TensorProto entering = streamTensor(block.residual(), batch, stream.get(b));
                session.run(Map.of(TARGET, target, block.residual(), entering), List.of(batch), List.of(gram));
            }
        }
        // X = [x' | 1]: the unknowns are the rows of [W; b] (the ones column only when there is a bias).
        boolean bias = projection.hasBias();
        int unknowns = in + (bias ? 1 : 0);
        int width = in + 1;
        DMatrixRMaj a = new DMatrixRMaj(unknowns, unknowns);
        DMatrixRMaj rhs = new DMatrixRMaj(unknowns, hidden);
        double diagonal = 0;
        for (int i = 0; i < in; i++) {
            diagonal += gram.inputs[i * width + i];
        }
        double lambda = ridge * diagonal / in;
        DMatrixRMaj start = currentWeights(model, projection, bias);
        for (int i = 0; i < unknowns; i++) {
            for (int j = 0; j < unknowns; j++) {
                a.set(i, j, gram.inputs[i * width + j]);
            }
            a.add(i, i, lambda);
            for (int c = 0; c < hidden; c++) {
                rhs.set(i, c, gram.cross[i * hidden + c] + lambda * start.get(i, c));
            }
        }
        LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.chol(unknowns);
        if (!solver.setA(a)) {
            throw new IllegalStateException("refit of " + block.label() + ": the statistics are not positive definite");
        }
        DMatrixRMaj solved = new DMatrixRMaj(unknowns, hidden);
        solver.solve(rhs, solved);

        FMatrixRMaj weight = new FMatrixRMaj(in, hidden);
        for (int i = 0; i < in * hidden; i++) {
            weight.data[i] = (float) solved.data[i];
        }
        float[] newBias = null;
        if (bias) {
            newBias = new float[hidden];
            for (int c = 0; c < hidden; c++) {
                newBias[c] = (float) solved.get(in, c);
            }
        }
        log.accept(String.format(Locale.ROOT, "refit %s: %d inputs, %d tokens, %.1f s", block.label(), in,
                gram.tokens, (System.nanoTime() - begin) / 1e9));
        return WeightRewrite.replace(model, projection, weight, newBias);
    }

    /** [W; b] of the projection as it is now, in double. */
    private static DMatrixRMaj currentWeights(ModelProto model, Projection projection, boolean bias) {
        MutableGraph graph = new MutableGraph(model);
        float[] weight = TensorData.floats(graph.initializer(projection.weight()).orElseThrow());
        int in = projection.inFeatures();
        int hidden = projection.outFeatures();
        DMatrixRMaj start = new DMatrixRMaj(in + (bias ? 1 : 0), hidden);
        for (int i = 0; i < weight.length; i++) {
            start.data[i] = weight[i];
        }
        if (bias) {
            float[] values = TensorData.floats(graph.initializer(projection.bias()).orElseThrow());
            for (int c = 0; c < hidden; c++) {
                start.set(in, c, values[c]);
            }
        }
        return start;
    }

    /**
     * The sub-block alone (its entering stream r' an input), with two outputs over the batch's unpadded tokens:
     * XᵀX and XᵀT, where X = [x' | 1] and T = s_parent − r' (TᵀT, which the solve does not need, is never formed).
     * One batch's sums are formed in float by ONNX Runtime's fast kernels; batches (a few hundred tokens each) are
     * summed in double.
     */
    private static ModelProto statisticsGraph(ModelProto model, SubBlock block, int hidden) {
        MutableGraph graph = cutAt(model, block.residual());
        graph.addInput(MutableGraph.floatValueInfo(TARGET, List.of("batch", "sequence", hidden)));
        String wanted = graph.addNode("Sub", "/refit/Wanted", List.of(TARGET, block.residual()));

        String columnShape = graph.addInitializer("/refit/column_shape",
                TensorData.longTensor("", new long[] {3}, new long[] {0, 0, 1}));
        String maskColumn = graph.addNode("Reshape", "/refit/MaskColumn", List.of("attention_mask", columnShape));
        String ones = graph.addNode("Cast", "/refit/Ones", List.of(maskColumn),
                castTo(TensorProto.DataType.FLOAT_VALUE));
        String x = graph.addNode("Concat", "/refit/X", List.of(block.projection().input(), ones),
                AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(-1).build());
        String flat = graph.addInitializer("/refit/flat", TensorData.longTensor("", new long[] {1}, new long[] {-1}));
        String flatMask = graph.addNode("Reshape", "/refit/FlatMask", List.of("attention_mask", flat));
        String tokenMask = graph.addNode("Cast", "/refit/TokenMask", List.of(flatMask),
                castTo(TensorProto.DataType.BOOL_VALUE));
        String xRows = unpaddedRows(graph, "X", x, block.projection().inFeatures() + 1, tokenMask);
        String tRows = unpaddedRows(graph, "T", wanted, hidden, tokenMask);
        String xTransposed = graph.addNode("Transpose", "/refit/XTransposed", List.of(xRows),
                AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS)
                        .addInts(1).addInts(0).build());
        graph.addNode(NodeProto.newBuilder().setOpType("MatMul").setName(graph.uniqueName("/refit/InputGram"))
                .addInput(xTransposed).addInput(xRows).addOutput(INPUT_GRAM).build());
        graph.addNode(NodeProto.newBuilder().setOpType("MatMul").setName(graph.uniqueName("/refit/CrossGram"))
                .addInput(xTransposed).addInput(tRows).addOutput(CROSS_GRAM).build());
        graph.addOutput(MutableGraph.untypedShapeOutput(INPUT_GRAM, TensorProto.DataType.FLOAT_VALUE));
        graph.addOutput(MutableGraph.untypedShapeOutput(CROSS_GRAM, TensorProto.DataType.FLOAT_VALUE));
        graph.removeDeadNodes();
        return graph.toModel();
    }

    /** {@code tensor} (batch, sequence, width) as rows of its unpadded tokens. */
    private static String unpaddedRows(MutableGraph graph, String name, String tensor, int width, String tokenMask) {
        String shape = graph.addInitializer("/refit/" + name + "_rows_shape",
                TensorData.longTensor("", new long[] {2}, new long[] {-1, width}));
        String rows = graph.addNode("Reshape", "/refit/" + name + "Rows", List.of(tensor, shape));
        return graph.addNode("Compress", "/refit/" + name + "Unpadded", List.of(rows, tokenMask),
                AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(0).build());
    }

    private static AttributeProto castTo(int type) {
        return AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT).setI(type).build();
    }

    /** Sums the statistics graph's two outputs over batches. */
    private static final class GramSum implements ActivationCollector {
        private double[] inputs;
        private double[] cross;
        private long tokens;

        @Override
        public Set<String> outputs() {
            return Set.of(INPUT_GRAM, CROSS_GRAM);
        }

        @Override
        public void accept(Map<String, Activation> outputs, EncodedBatch batch) {
            inputs = add(inputs, outputs.get(INPUT_GRAM).values());
            cross = add(cross, outputs.get(CROSS_GRAM).values());
            tokens += batch.realTokens();
        }

        private static double[] add(double[] sum, float[] values) {
            double[] result = sum == null ? new double[values.length] : sum;
            for (int i = 0; i < values.length; i++) {
                result[i] += values[i];
            }
            return result;
        }
    }
}
