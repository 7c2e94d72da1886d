package dev.tierserve.compressor.method.bonsai;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.DepthFixtures;
import dev.tierserve.compressor.runtime.RuntimeSettings;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BonsaiTest {

    private static final String OUTPUT = "last_hidden_state";

    @Test
    void theRegressionRanksPlantedDeadHeadsLeastImportant() {
        // Heads 2 and 9 of layer 0 and head 5 of layer 1 have zero output-projection rows: they do nothing.
        ModelProto parent = TestModels.load(TestModels.MINILM);
        StructureMap parentMap = StructureDetector.detect(parent);
        MutableGraph graph = new MutableGraph(parent);
        Map<Integer, Set<Integer>> planted = Map.of(0, Set.of(2, 9), 1, Set.of(5));
        planted.forEach((layer, heads) -> {
            String name = parentMap.layer(layer).attention().output().weight();
            FMatrixRMaj weight = TensorData.matrix(graph.initializer(name).orElseThrow()).copy();
            for (int head : heads) {
                for (int r = head * 32; r < (head + 1) * 32; r++) {
                    for (int c = 0; c < weight.numCols; c++) {
                        weight.set(r, c, 0f);
                    }
                }
            }
            graph.setInitializer(TensorData.fromMatrix(name, weight));
        });
        ModelProto model = graph.toModel();
        StructureMap map = StructureDetector.detect(model);

        Bonsai bonsai = new Bonsai(RuntimeSettings.cpu(1, 1, 32), BonsaiOptions.defaults()
                .withSampling(16, 64, 120, 0.1), System.out::println);
        CalibrationRunner runner = new CalibrationRunner(RuntimeSettings.Provider.CPU, 2);
        List<EncodedBatch> calibration = DepthFixtures.miniLmCalibration(16, 32);
        // The attention units of layers 0 and 1 are this round's candidates; every MLP unit stays fixed.
        List<PruningUnit> units = bonsai.units(model, map, runner, calibration);
        List<Integer> candidates = IntStream.range(0, units.size())
                .filter(u -> units.get(u).attention() && units.get(u).layer() <= 1).boxed().toList();
        assertEquals(24, candidates.size());
        OutputRecorder reference = new OutputRecorder(OUTPUT);
        runner.run(model, Map.of(), calibration, List.of(reference));
        Bonsai.Ranking ranking = bonsai.rank(model, map, units, candidates, runner, calibration, reference, 11);

        Set<String> leastImportant = ranking.leastImportantFirst().subList(0, 3).stream()
                .map(u -> units.get(u).layer() + "/" + units.get(u).members()[0]).collect(Collectors.toSet());
        assertEquals(Set.of("0/2", "0/9", "1/5"), leastImportant);
        for (int k = 0; k < candidates.size(); k++) {
            PruningUnit unit = units.get(candidates.get(k));
            boolean dead = planted.get(unit.layer()).contains(unit.members()[0]);
            if (dead) {
                assertEquals(0, ranking.fit().coefficients()[k], 1e-6, "a dead head does not move the loss");
            }
        }
    }

    @Test
    void prunesRoundByRoundUntilTheMeasuredTarget() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        BonsaiOptions options = BonsaiOptions.defaults().withSampling(16, 128, 40, 0.15).withLatencyRuns(3, 9);
        BonsaiResult result = new Bonsai(RuntimeSettings.cpu(1, 1, 64), options, System.out::println)
                .compress(parent, List.of(1.3), DepthFixtures.miniLmCalibration(32, 32), DepthFixtures.miniLmTiming(64));
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
    }
}
