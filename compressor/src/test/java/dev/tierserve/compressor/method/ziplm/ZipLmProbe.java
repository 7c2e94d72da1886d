package dev.tierserve.compressor.method.ziplm;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.DataSplits;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.latency.ComponentLatencyMeter;
import dev.tierserve.compressor.latency.ComponentLatencyTable;
import dev.tierserve.compressor.runtime.RuntimeSettings;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

class ZipLmProbe {
    @Test
    void probe() {
        long t0 = System.nanoTime();
        ModelProto parent = TestModels.load(TestModels.MINILM);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);
        var splits = DataSplits.of(BrownCorpus.bundled(), 42, 128, 0, 0);
        List<EncodedBatch> calib;
        EncodedBatch timing;
        try (BatchTokenizer tok = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 64);
             BatchTokenizer tok128 = new BatchTokenizer(TestModels.file(TestModels.MINILM_TOKENIZER), 128)) {
            calib = tok.encodeAll(splits.calibration(), 16);
            timing = tok128.encode(List.of(splits.calibration().get(0).text()));
        }
        ComponentLatencyTable table = new ComponentLatencyMeter(settings, 3, 10).loadOrMeasure(parent, timing,
                java.nio.file.Path.of("target/latency-tables"));
        System.out.printf("table %.1f s%n", (System.nanoTime() - t0) / 1e9);
        ZipLm zip = new ZipLm(settings, ZipLmOptions.defaults().withCalibration(128, 64, 32).withSearch(3, 3), System.out::println);
        var results = zip.compress(parent, List.of(1.5, 2.0), calib, timing, table);
        System.out.printf("total %.1f s%n", (System.nanoTime() - t0) / 1e9);
        List<Evaluation.Model> variants = new ArrayList<>();
        for (var r : results) {
            System.out.println(r.targetSpeedup() + " -> " + r.measuredSpeedup() + " loss " + r.calibrationLoss() + " " + r.plan());
            variants.add(new Evaluation.Model("ziplm " + r.targetSpeedup(), r.model()));
        }
        var report = Evaluation.builder(settings).rounds(10).evaluationSequence(64).trainTexts(300).testTexts(150)
                .pooling(Pooling.MEAN).seed(7).build().evaluate(new Evaluation.Model("minilm", parent), variants,
                TestModels.file(TestModels.MINILM_TOKENIZER), BrownCorpus.bundled(), "brown");
        System.out.print(report.render());
    }
}
