package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.Batches;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.data.TextSample;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.graph.TensorData;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.baseline.MagnitudePruning;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * all-MiniLM-L6 at 1.5x and 2x with a small calibration set: targets reached, the 2x tier pruned from the 1.5x one,
 * quality between parent and baselines.
 */
class ZipLmEndToEndTest {

    @Test
    void reachesEachTargetAndBeatsTheNaiveBaselines() {
        ModelProto parent = TestModels.load(TestModels.MINILM);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 64);
        List<TextSample> brown = BrownCorpus.bundled();
        DataSplits splits = DataSplits.of(brown, 42, 96, 0, 0);
        List<EncodedBatch> calibration;
        EncodedBatch timing;
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 48);
             BatchTokenizer timingTokenizer = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 64)) {
            calibration = tokenizer.encodeAll(splits.calibration(), 16);
            timing = timingTokenizer.encode(List.of(splits.calibration().get(0).text()));
        }
        ZipLmOptions options = ZipLmOptions.defaults().withCalibration(96, 48, 32).withSearch(2, 3);
        List<String> log = new ArrayList<>();
        MethodContext context = MethodContext.builder(parent, settings).calibration(calibration).timing(timing)
                .log(line -> {
                    System.out.println(line);
                    log.add(line);
                }).build();
        List<ZipLmResult> results = new ZipLm(options).compress(context, List.of(1.5, 2.0)).results();

        assertEquals(2, results.size());
        // The first tier's search starts from the blocks' sensitivities, the second tier's from the first one's
        // error weights.
        assertTrue(log.stream().anyMatch(l -> l.startsWith("ZipLM 1.50x: error weights from 12 single-block "
                + "sensitivities")), log.toString());
        assertTrue(log.stream().noneMatch(l -> l.startsWith("ZipLM 2.00x: error weights from"))
                && log.contains("ZipLM 2.00x: the search starts from the last tier's error weights"), log.toString());
        // Gradual: the 2x tier is pruned from the 1.5x tier's variant, so it keeps a subset of its heads and channels,
        // and the search graph built on that already pruned variant scored the same loss as the physical removal.
        ZipLmResult lower = results.get(0);
        ZipLmResult higher = results.get(1);
        for (int l = 0; l < 6; l++) {
            assertTrue(higher.heads()[l] <= lower.heads()[l], "layer " + l + " heads");
            assertTrue(higher.channels()[l] <= lower.channels()[l], "layer " + l + " channels");
        }
        // A block the 2x tier leaves as it is keeps the 1.5x variant's refitted weights (pruned one-shot from the
        // parent, it would have the parent's OBS snapshot instead). Whether the 2x plan leaves any depends on the
        // search; the loss check below holds whatever it prunes.
        StructureMap lowerMap = StructureDetector.detect(lower.model());
        StructureMap higherMap = StructureDetector.detect(higher.obsOnly());
        int unchanged = 0;
        for (int l = 0; l < 6; l++) {
            if (higher.heads()[l] > 0 && higher.heads()[l] == lower.heads()[l]) {
                assertArrayEquals(weight(lower.model(), lowerMap.layer(l).attention().output().weight()),
                        weight(higher.obsOnly(), higherMap.layer(l).attention().output().weight()), "layer " + l);
                unchanged++;
            }
            if (higher.channels()[l] > 0 && higher.channels()[l] == lower.channels()[l]) {
                assertArrayEquals(weight(lower.model(), lowerMap.layer(l).mlp().down().weight()),
                        weight(higher.obsOnly(), higherMap.layer(l).mlp().down().weight()), "layer " + l);
                unchanged++;
            }
        }
        System.out.println("blocks the 2x tier left as the 1.5x tier had them: " + unchanged);
        double physical = new LossAgainstParent(parent, Batches.firstTexts(calibration, options.scoringTexts()),
                settings).of(higher.obsOnly());
        assertEquals(higher.calibrationLoss(), physical, 1e-4 * Math.max(1, physical),
                "2x loss scored through the search graph on the 1.5x variant vs the physical variant's");

        List<Evaluation.Model> models = new ArrayList<>();
        StructureMap parentMap = StructureDetector.detect(parent);
        for (ZipLmResult result : results) {
            assertTrue(result.measuredSpeedup() >= result.targetSpeedup(),
                    "measured " + result.measuredSpeedup() + " for " + result.targetSpeedup());
            StructureMap map = StructureDetector.detect(result.model());
            assertTrue(map.layers().stream().mapToLong(l -> (l.attention() == null ? 0 : l.attention().parameterCount())
                    + (l.mlp() == null ? 0 : l.mlp().parameterCount())).sum()
                    < parentMap.layers().stream().mapToLong(l -> l.attention().parameterCount()
                    + l.mlp().parameterCount()).sum(), "physically smaller");
            String tier = result.targetSpeedup() + "x";
            models.add(new Evaluation.Model("ziplm " + tier, result.model()));
            models.add(new Evaluation.Model("magnitude " + tier,
                    MagnitudePruning.prune(parent, result.heads(), result.channels())));
            int drop = (int) Math.ceil(6 * (1 - 1 / result.targetSpeedup()));
            models.add(new Evaluation.Model("drop last " + drop + " " + tier, SubBlockRemoval.dropLastLayers(parent, drop)));
        }
        EvaluationReport report = Evaluation.builder(settings).rounds(5).evaluationSequence(64).trainTexts(200)
                .testTexts(100).pooling(Pooling.MEAN).build().evaluate(new Evaluation.Model("minilm", parent), models,
                        TestModels.file(TestModels.MINILM_TOKENIZER), brown, "brown");
        System.out.print(report.render());
        assertEquals(7, report.results().size());
        for (int t = 0; t < 2; t++) {
            double ziplm = report.results().get(1 + 3 * t).encoder().meanCosine();
            double magnitude = report.results().get(2 + 3 * t).encoder().meanCosine();
            double dropped = report.results().get(3 + 3 * t).encoder().meanCosine();
            assertTrue(ziplm < 1.0, "below the parent");
            assertTrue(ziplm > magnitude, "ZipLM " + ziplm + " vs magnitude " + magnitude);
            assertTrue(ziplm > dropped, "ZipLM " + ziplm + " vs dropped layers " + dropped);
        }
    }

    private static float[] weight(ModelProto model, String name) {
        return TensorData.floats(model.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name))
                .findFirst().orElseThrow());
    }
}
