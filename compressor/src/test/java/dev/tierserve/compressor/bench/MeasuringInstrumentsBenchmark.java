package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.calib.Pooling;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.eval.Evaluation;
import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.graph.edit.ChannelPruning;
import dev.tierserve.compressor.graph.edit.HeadPruning;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.latency.ComponentLatencyMeter;
import dev.tierserve.compressor.latency.ComponentLatencyTable;
import dev.tierserve.compressor.report.QualitySpeedupChart;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Figures for the measuring instruments on BGE-small: the evaluation of naive structural variants (what the
 * methods must beat) and ZipLM's component latency table. Writes JSON and a PNG chart under
 * {@code compressor/target/benchmarks/}. Run: {@code mvn -B -DskipTests install && mvn -B -pl compressor
 * -Pbenchmark test -Dtest=MeasuringInstrumentsBenchmark}.
 */
@Tag("benchmark")
class MeasuringInstrumentsBenchmark {

    @Test
    void evaluateNaiveVariantsAndMeasureComponentLatency() throws Exception {
        Path out = Path.of("target/benchmarks");
        Files.createDirectories(out);
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        RuntimeSettings settings = RuntimeSettings.cpu(1, 1, 128);

        ModelProto lastTwoDropped = SubBlockRemoval.dropLastLayers(parent, 2);
        ModelProto lastFourDropped = SubBlockRemoval.dropLastLayers(parent, 4);
        ModelProto halfHeads = parent;
        ModelProto halfChannels = parent;
        for (int layer = 0; layer < 12; layer++) {
            halfHeads = HeadPruning.pruneHeads(halfHeads, StructureDetector.detect(halfHeads), layer, range(6, 12));
            halfChannels = ChannelPruning.pruneChannels(halfChannels, StructureDetector.detect(halfChannels), layer,
                    range(768, 1536));
        }
        EvaluationReport report = Evaluation.builder(settings).warmupRuns(5).rounds(20).evaluationSequence(128)
                .evaluationBatch(16).trainTexts(1000).testTexts(300).pooling(Pooling.CLS).normalize(true).build()
                .evaluate(new Evaluation.Model("bge-small-en-v1.5", parent), List.of(
                        new Evaluation.Model("last 2 layers dropped", lastTwoDropped),
                        new Evaluation.Model("last 4 layers dropped", lastFourDropped),
                        new Evaluation.Model("heads 6..11 pruned everywhere", halfHeads),
                        new Evaluation.Model("MLP channels 768.. pruned", halfChannels)),
                        TestModels.file(TestModels.BGE_TOKENIZER), BrownCorpus.bundled(), "brown");
        System.out.printf(Locale.ROOT, "%nNaive structural variants of BGE-small (no weight updates):%n%s", report.render());
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("bge-naive-variants.json").toFile(),
                report);
        QualitySpeedupChart.write(report, out.resolve("bge-naive-variants.png"));

        ComponentLatencyTable table = new ComponentLatencyMeter(settings, 5, 20)
                .measure(parent, GraphToolkitBenchmark.syntheticBatch(1, 128));
        System.out.printf(Locale.ROOT, "%nComponent latency table, BGE-small, %s (one block, ms):%n", settings.key());
        StringBuilder heads = new StringBuilder("  attention by heads:");
        for (int h = 0; h < table.attentionMs().length; h++) {
            heads.append(String.format(Locale.ROOT, " %d:%.2f", h, table.attentionMs()[h]));
        }
        System.out.println(heads);
        StringBuilder widths = new StringBuilder("  MLP by width:");
        table.mlpLevels().forEach(l -> widths.append(String.format(Locale.ROOT, " %d:%.2f", l.width(), l.ms())));
        System.out.println(widths);
        System.out.printf(Locale.ROOT, "  full %.2f ms, fixed (no layers) %.2f ms, prunable %.2f ms; 12 x (attention 12 "
                        + "+ MLP 1536) = %.2f ms%n", table.fullMs(), table.fixedMs(), table.prunableMs(),
                12 * (table.attention(12) + table.mlpLevels().get(0).ms()));
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("bge-component-latency.json").toFile(),
                table);
    }

    private static Set<Integer> range(int from, int to) {
        return new TreeSet<>(IntStream.range(from, to).boxed().toList());
    }
}
