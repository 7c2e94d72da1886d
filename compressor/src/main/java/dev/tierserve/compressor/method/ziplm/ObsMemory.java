package dev.tierserve.compressor.method.ziplm;

import dev.tierserve.compressor.graph.structure.AttentionBlock;
import dev.tierserve.compressor.graph.structure.MlpBlock;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.TransformerLayer;

/**
 * ZipLM's heap, from a model's structure: what its calibration and OBS hold at their peak, and how many blocks may be
 * pruned at once in the heap there is. Per output projection of input width n and output width m:
 * <ul>
 *   <li>the Hessian, n × n doubles, from calibration until the projection is pruned;</li>
 *   <li>while it is pruned, about four more n × n doubles (the dampened copy, its Cholesky factor, the inverse) and two
 *       n × m (the weight in double and H·W);</li>
 *   <li>the trajectory's snapshots, kept to the end: at each level the remaining rows in float (attention: heads
 *       H, H-1, …, 1 of H; MLP: densities 0.9^k down to 0.05, about 9.5 full widths in all).</li>
 * </ul>
 * Hessians are let go as their projections are pruned and snapshots pile up in their place, so the two are counted
 * as the larger of them, not their sum.
 */
public final class ObsMemory {

    /** Σ over the MLP densities 0.9^k ≥ 0.05 the table measures, in full widths. */
    private static final double MLP_SNAPSHOT_WIDTHS = 9.5;

    private ObsMemory() {
    }

    /** Bytes held across the whole OBS phase: the larger of all Hessians and all snapshots. */
    public static long held(StructureMap map) {
        long hessians = 0;
        long snapshots = 0;
        for (TransformerLayer layer : map.layers()) {
            AttentionBlock a = layer.attention();
            if (a != null) {
                long n = (long) a.kvHeads() * a.groupSize() * a.headDim();
                long m = a.output().outFeatures();
                hessians += n * n * Double.BYTES;
                snapshots += ObsTrajectory.Snapshot.bytes(n * (a.kvHeads() + 1) / 2, m);
            }
            MlpBlock mlp = layer.mlp();
            if (mlp != null) {
                long n = mlp.intermediateSize();
                long m = mlp.down().outFeatures();
                hessians += n * n * Double.BYTES;
                snapshots += ObsTrajectory.Snapshot.bytes((long) Math.ceil(n * MLP_SNAPSHOT_WIDTHS), m);
            }
        }
        return Math.max(hessians, snapshots);
    }

    /** Bytes one block takes while it is pruned, for the widest block of {@code map}. */
    public static long perBlock(StructureMap map) {
        long widest = 0;
        for (TransformerLayer layer : map.layers()) {
            AttentionBlock a = layer.attention();
            if (a != null) {
                widest = Math.max(widest, working((long) a.kvHeads() * a.groupSize() * a.headDim(),
                        a.output().outFeatures()));
            }
            MlpBlock mlp = layer.mlp();
            if (mlp != null) {
                widest = Math.max(widest, working(mlp.intermediateSize(), mlp.down().outFeatures()));
            }
        }
        return widest;
    }

    private static long working(long n, long m) {
        return (4 * n * n + 2 * n * m) * Double.BYTES;
    }

    /**
     * Blocks to prune at once: one per core, as many as the heap's free room holds (at least one).
     */
    static int threads(StructureMap map) {
        Runtime runtime = Runtime.getRuntime();
        long free = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
        long fit = free / Math.max(1, perBlock(map));
        return (int) Math.max(1, Math.min(runtime.availableProcessors(), fit));
    }
}
