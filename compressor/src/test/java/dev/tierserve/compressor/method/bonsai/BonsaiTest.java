package dev.tierserve.compressor.method.bonsai;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.store.RuntimeSettings;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BonsaiTest {


    @Test
    void theRegressionRanksPlantedDeadChannelsLeastImportant() {
        // 64 MLP channels of layer 0 and 64 of layer 2 get zero down-projection rows: they do nothing. Zero rows have
        // a zero prior, so each set becomes exactly one 64-channel unit.
        ModelProto parent = TestModels.load(TestModels.MINILM);
        StructureMap parentMap = StructureDetector.detect(parent);
        MutableGraph graph = new MutableGraph(parent);
        Map<Integer, Set<Integer>> planted = Map.of(0, channels(100, 164), 2, channels(700, 764));
        planted.forEach((layer, channels) -> {
            String name = parentMap.layer(layer).mlp().down().weight();
            FMatrixRMaj weight = TensorData.matrix(graph.initializer(name).orElseThrow()).copy();
            for (int row : channels) {
                for (int c = 0; c < weight.numCols; c++) {
                    weight.set(row, c, 0f);
                }
            }
            graph.setInitializer(TensorData.fromMatrix(name, weight));
        });
        ModelProto model = graph.toModel();
        StructureMap map = StructureDetector.detect(model);

        Bonsai bonsai = new Bonsai(BonsaiOptions.defaults().withSampling(16, 64, 160, 0.1));
        List<EncodedBatch> calibration = DepthFixtures.miniLmCalibration(16, 32);
        MethodContext context = MethodContext.builder(model, RuntimeSettings.cpu(1, 1, 32)).calibration(calibration)
                .timing(DepthFixtures.miniLmTiming(32)).build();
        CalibrationRunner runner = context.runner();
        // The MLP units of layers 0 to 2 are this round's candidates; every other unit stays fixed.
        List<PruningUnit> units = bonsai.units(model, map, runner, calibration);
        List<Integer> candidates = IntStream.range(0, units.size())
                .filter(u -> !units.get(u).attention() && units.get(u).layer() <= 2).boxed().toList();
        assertEquals(72, candidates.size());
        List<Integer> dead = candidates.stream().filter(u -> planted.getOrDefault(units.get(u).layer(), Set.of())
                .containsAll(Arrays.stream(units.get(u).members()).boxed().toList())).toList();
        assertEquals(2, dead.size(), "each planted set is one unit");
        Bonsai.Ranking ranking = bonsai.rank(model, map, units, candidates, runner, context.scoring(calibration), 11);

        assertEquals(Set.copyOf(dead), Set.copyOf(ranking.leastImportantFirst().subList(0, 2)));
        assertTrue(ranking.fit().rankCorrelation() > 0.5, "held-out rank correlation " + ranking.fit().rankCorrelation());
    }

    private static Set<Integer> channels(int from, int to) {
        return IntStream.range(from, to).boxed().collect(Collectors.toSet());
    }

    @Test
    void prunesRoundByRoundUntilTheMeasuredTarget() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        BonsaiOptions options = BonsaiOptions.defaults().withSampling(16, 128, 40, 0.15);
        MethodContext context = MethodContext.builder(parent, RuntimeSettings.cpu(1, 1, 64))
                .calibration(DepthFixtures.miniLmCalibration(32, 32)).timing(DepthFixtures.miniLmTiming(64))
                .latencyRuns(3, 9).log(System.out::println).build();
        BonsaiResult result = new Bonsai(options).compress(context, List.of(1.3));
        assertEquals(1, result.variants().size(), "unreached: " + result.unreached());
        CompressedVariant variant = result.variants().get(0);
        assertTrue(variant.measuredSpeedup() >= 1.3);
        for (int r = 0; r + 1 < result.rounds().size(); r++) {
            assertTrue(result.rounds().get(r).measuredSpeedup() < 1.3, "earlier rounds stayed below the target");
        }
        assertTrue(result.rounds().stream().allMatch(r -> r.samples() == 40 && r.pruned() > 0));
        StructureMap map = StructureDetector.detect(variant.model());
        long heads = map.layers().stream().mapToLong(l -> l.attention() == null ? 0 : l.attention().heads()).sum();
        long channels = map.layers().stream().mapToLong(l -> l.mlp() == null ? 0 : l.mlp().intermediateSize()).sum();
        assertTrue(heads < 72 || channels < 6 * 1536, "physically smaller: " + heads + " heads, " + channels);
        assertTrue(variant.calibrationLoss() > 0 && variant.calibrationLoss() < 1);
        // The published variant's output projections were refitted towards the parent, which lowered its error on
        // the texts it was fitted to (held-out quality is BonsaiBenchmark's).
        assertEquals(true, variant.parameters().get("refitted"));
        double after = (double) variant.parameters().get("lossAfterRefit");
        assertTrue(after < variant.calibrationLoss(), after + " after the refit, " + variant.calibrationLoss()
                + " before");
    }
}
