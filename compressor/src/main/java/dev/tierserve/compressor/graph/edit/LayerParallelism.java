package dev.tierserve.compressor.graph.edit;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.MlpBlock;
import dev.tierserve.compressor.graph.structure.Norm;
import dev.tierserve.compressor.graph.structure.Projection;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;

import java.util.Arrays;

/**
 * Layer parallelism (Calvo González et al. 2025): a pair of consecutive layers (i, j = i+1) evaluates its
 * two attentions on the same input and its two MLPs on the same input.
 * <ul>
 *   <li>Pre-norm: {@code h = x + A_i(N1_i(x)) + A_j(N1_j(x)); y = h + M_i(N2_i(h)) + M_j(N2_j(h))}.</li>
 *   <li>Post-norm adaptation (our choice, BERT has no pre-block norms): the pair shares layer j's norms and
 *       drops layer i's: {@code h = N1_j(x + A_i(x) + A_j(x)); y = N2_j(h + M_i(h) + M_j(h))}.</li>
 * </ul>
 * The plain form keeps four blocks and adds their outputs. The fused form is one wider layer: Q/K/V columns
 * and MLP up/gate columns concatenated (heads H_i + H_j, channels I_i + I_j), output and down rows stacked,
 * output biases summed. In the pre-norm fused form each layer's norm scale and shift are folded into its
 * own projections ({@code N(x)·W = x̂·diag(w)W + b·W}), so the one shared normalisation has unit scale.
 * A fused decoder pair keeps one KV cache with both layers' KV heads.
 */
public final class LayerParallelism {

    private LayerParallelism() {
    }

    /** Parallelises the pairs (start, start+1), (start+2, start+3), … for {@code pairs} pairs. */
    public static ModelProto parallelise(ModelProto model, StructureMap map, int start, int pairs, boolean fused) {
        if (pairs < 1 || start < 0 || start + 2 * pairs > map.layerCount()) {
            throw new IllegalArgumentException("cannot parallelise " + pairs + " pairs from layer " + start + " of "
                    + map.layerCount());
        }
        MutableGraph graph = new MutableGraph(model);
        for (int p = 0; p < pairs; p++) {
            int first = start + 2 * p;
            if (fused) {
                fuse(graph, map, map.layer(first), map.layer(first + 1));
            } else {
                plain(graph, map.layer(first), map.layer(first + 1));
            }
        }
        graph.removeDeadNodes();
        return graph.toModel();
    }

    private static void plain(MutableGraph graph, TransformerLayer i, TransformerLayer j) {
        requireComplete(i, j);
        // Layer j's attention reads the pair's input; its residual Add gets both attention outputs.
        graph.redirect(i.output(), i.input());
        String attentionSum = graph.addNode("Add", "/parallel/layer." + i.index() + "/attention/Add",
                java.util.List.of(i.attention().output().output(), j.attention().output().output()));
        graph.rewireInput(graph.requireProducer(j.attention().residualAdd()), j.attention().output().output(),
                attentionSum);
        // Layer i's MLP reads the pair's h; layer j's residual Add gets both MLP outputs.
        graph.redirect(i.afterAttention(), j.afterAttention());
        String mlpSum = graph.addNode("Add", "/parallel/layer." + i.index() + "/mlp/Add",
                java.util.List.of(i.mlp().down().output(), j.mlp().down().output()));
        graph.rewireInput(graph.requireProducer(j.mlp().residualAdd()), j.mlp().down().output(), mlpSum);
    }

    private static void fuse(MutableGraph graph, StructureMap map, TransformerLayer i, TransformerLayer j) {
        requireComplete(i, j);
        AttentionBlock a = i.attention();
        AttentionBlock b = j.attention();
        if (a.headDim() != b.headDim() || a.groupSize() != b.groupSize() || a.isPacked() != b.isPacked()) {
            throw new IllegalArgumentException("layers " + i.index() + " and " + j.index()
                    + " differ in head dim, group size or QKV packing and cannot be fused");
        }
        boolean preNorm = map.layout() == StructureMap.Layout.PRE_NORM;
        graph.redirect(i.output(), i.input());

        // Attention: [i | j] columns for Q, K, V (per section when packed); stacked output rows.
        if (a.isPacked()) {
            int qa = a.heads() * a.headDim();
            int kva = a.kvHeads() * a.headDim();
            int qb = b.heads() * b.headDim();
            int kvb = b.kvHeads() * b.headDim();
            Folded pa = folded(graph, a.packedQkv(), preNorm ? i.attentionNorm() : null);
            Folded pb = folded(graph, b.packedQkv(), preNorm ? j.attentionNorm() : null);
            FMatrixRMaj weight = concatColumns(
                    columns(pa.weight, 0, qa), columns(pb.weight, 0, qb),
                    columns(pa.weight, qa, qa + kva), columns(pb.weight, qb, qb + kvb),
                    columns(pa.weight, qa + kva, qa + 2 * kva), columns(pb.weight, qb + kvb, qb + 2 * kvb));
            float[] bias = concat(slice(pa.bias, 0, qa), slice(pb.bias, 0, qb), slice(pa.bias, qa, qa + kva),
                    slice(pb.bias, qb, qb + kvb), slice(pa.bias, qa + kva, qa + 2 * kva),
                    slice(pb.bias, qb + kvb, qb + 2 * kvb));
            store(graph, b.packedQkv(), weight, bias);
        } else {
            for (Projection[] pair : new Projection[][] {{a.query(), b.query()}, {a.key(), b.key()},
                    {a.value(), b.value()}}) {
                Folded pa = folded(graph, pair[0], preNorm ? i.attentionNorm() : null);
                Folded pb = folded(graph, pair[1], preNorm ? j.attentionNorm() : null);
                store(graph, pair[1], concatColumns(pa.weight, pb.weight), concat(pa.bias, pb.bias));
            }
        }
        stackOutputs(graph, a.output(), b.output());
        long heads = a.heads() + b.heads();
        long kvHeads = a.kvHeads() + b.kvHeads();
        ShapeConstantRewriter.rewrite(graph, b.shapeConstants(), c -> switch (c.role()) {
            case HEADS -> heads;
            case KV_HEADS -> kvHeads;
            case GROUP_SIZE, HEAD_DIM -> c.value();
            case ATTENTION_WIDTH -> heads * b.headDim();
            case KV_WIDTH -> kvHeads * b.headDim();
        });
        if (b.hasCache()) {
            SubBlockRemoval.removeCache(graph, a);
            for (String cache : new String[] {b.pastKey(), b.pastValue(), b.presentKey(), b.presentValue()}) {
                graph.setDeclaredDim(cache, 1, kvHeads);
            }
        }

        // MLP: [i | j] up and gate columns, stacked down rows.
        MlpBlock m = i.mlp();
        MlpBlock n = j.mlp();
        Folded upA = folded(graph, m.up(), preNorm ? i.mlpNorm() : null);
        Folded upB = folded(graph, n.up(), preNorm ? j.mlpNorm() : null);
        store(graph, n.up(), concatColumns(upA.weight, upB.weight), concat(upA.bias, upB.bias));
        if (m.gate() != null && n.gate() != null) {
            Folded gateA = folded(graph, m.gate(), preNorm ? i.mlpNorm() : null);
            Folded gateB = folded(graph, n.gate(), preNorm ? j.mlpNorm() : null);
            store(graph, n.gate(), concatColumns(gateA.weight, gateB.weight), concat(gateA.bias, gateB.bias));
        }
        stackOutputs(graph, m.down(), n.down());
        if (preNorm) {
            makeIdentity(graph, j.attentionNorm());
            makeIdentity(graph, j.mlpNorm());
        }
    }

    /** A projection's weight and bias with a preceding norm's scale and shift folded in (or as stored). */
    private record Folded(FMatrixRMaj weight, float[] bias) {
    }

    private static Folded folded(MutableGraph graph, Projection projection, Norm norm) {
        FMatrixRMaj weight = TensorData.matrix(WeightSlicing.require(graph, projection.weight())).copy();
        float[] bias = projection.hasBias() ? TensorData.floats(WeightSlicing.require(graph, projection.bias()))
                : null;
        if (norm == null) {
            return new Folded(weight, bias);
        }
        float[] scale = TensorData.floats(WeightSlicing.require(graph, norm.weight()));
        if (norm.bias() != null) {
            if (bias == null) {
                throw new UnsupportedOperationException(projection.matMul()
                        + " has no bias to receive its norm's shift");
            }
            float[] shift = TensorData.floats(WeightSlicing.require(graph, norm.bias()));
            float[] shifted = bias.clone();
            for (int r = 0; r < weight.numRows; r++) {
                for (int c = 0; c < weight.numCols; c++) {
                    shifted[c] += shift[r] * weight.get(r, c);
                }
            }
            bias = shifted;
        }
        for (int r = 0; r < weight.numRows; r++) {
            for (int c = 0; c < weight.numCols; c++) {
                weight.set(r, c, weight.get(r, c) * scale[r]);
            }
        }
        return new Folded(weight, bias);
    }

    /** Output projections: rows of i above rows of j, biases summed. */
    private static void stackOutputs(MutableGraph graph, Projection a, Projection b) {
        FMatrixRMaj wa = TensorData.matrix(WeightSlicing.require(graph, a.weight()));
        FMatrixRMaj wb = TensorData.matrix(WeightSlicing.require(graph, b.weight()));
        FMatrixRMaj stacked = new FMatrixRMaj(wa.numRows + wb.numRows, wa.numCols);
        CommonOps_FDRM.concatRows(wa, wb, stacked);
        graph.setInitializer(TensorData.fromMatrix(b.weight(), stacked));
        if (a.hasBias() && b.hasBias()) {
            float[] ba = TensorData.floats(WeightSlicing.require(graph, a.bias()));
            float[] bb = TensorData.floats(WeightSlicing.require(graph, b.bias()));
            float[] sum = new float[ba.length];
            for (int k = 0; k < sum.length; k++) {
                sum[k] = ba[k] + bb[k];
            }
            graph.setInitializer(TensorData.fromVector(b.bias(), sum));
        } else if (a.hasBias() != b.hasBias()) {
            throw new UnsupportedOperationException("only one of " + a.matMul() + ", " + b.matMul() + " has a bias");
        }
    }

    private static void store(MutableGraph graph, Projection target, FMatrixRMaj weight, float[] bias) {
        graph.setInitializer(TensorData.fromMatrix(target.weight(), weight));
        if (bias != null) {
            graph.setInitializer(TensorData.fromVector(target.bias(), bias));
        }
    }

    /** The shared normalisation keeps unit scale and no shift: each projection carries its own. */
    private static void makeIdentity(MutableGraph graph, Norm norm) {
        float[] ones = new float[TensorData.floats(WeightSlicing.require(graph, norm.weight())).length];
        Arrays.fill(ones, 1f);
        graph.redirect(norm.weight(), graph.addInitializer(norm.weight() + ".unit",
                TensorData.fromVector("", ones)));
        if (norm.bias() != null) {
            graph.redirect(norm.bias(), graph.addInitializer(norm.bias() + ".zero",
                    TensorData.fromVector("", new float[ones.length])));
        }
    }

    private static FMatrixRMaj columns(FMatrixRMaj matrix, int from, int to) {
        return CommonOps_FDRM.extract(matrix, 0, matrix.numRows, from, to);
    }

    private static FMatrixRMaj concatColumns(FMatrixRMaj... parts) {
        int columns = Arrays.stream(parts).mapToInt(p -> p.numCols).sum();
        FMatrixRMaj result = new FMatrixRMaj(parts[0].numRows, columns);
        int at = 0;
        for (FMatrixRMaj part : parts) {
            CommonOps_FDRM.insert(part, result, 0, at);
            at += part.numCols;
        }
        return result;
    }

    private static float[] slice(float[] values, int from, int to) {
        return values == null ? null : Arrays.copyOfRange(values, from, to);
    }

    private static float[] concat(float[]... parts) {
        if (Arrays.stream(parts).anyMatch(p -> p == null)) {
            if (Arrays.stream(parts).allMatch(p -> p == null)) {
                return null;
            }
            throw new UnsupportedOperationException("only some of the fused projections have biases");
        }
        float[] result = new float[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, result, at, part.length);
            at += part.length;
        }
        return result;
    }

    private static void requireComplete(TransformerLayer i, TransformerLayer j) {
        for (TransformerLayer layer : new TransformerLayer[] {i, j}) {
            if (layer.attention() == null || layer.mlp() == null) {
                throw new IllegalArgumentException("layer " + layer.index() + " lacks a sub-block; only complete layers "
                        + "can be parallelised");
            }
        }
    }
}
