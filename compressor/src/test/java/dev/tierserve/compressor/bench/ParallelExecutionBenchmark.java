package dev.tierserve.compressor.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.TestModels;
import dev.tierserve.compressor.data.BatchTokenizer;
import dev.tierserve.compressor.data.BrownCorpus;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.edit.LayerParallelism;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.latency.LatencyMeter;
import dev.tierserve.compressor.latency.LatencyMeter.Candidate;
import dev.tierserve.compressor.latency.LatencyReport;
import dev.tierserve.store.RuntimeSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Whether layer parallelism pays on a CPU when ONNX Runtime runs each pair's two layers concurrently (parallel
 * execution mode, 2 inter-op threads). BGE-small, batch 1 x seq 128, the last 2k layers in k pairs (the speed does
 * not depend on the window's position): on the 1-thread setting the plain pairs with 2 inter-op threads against
 * the parent on 1 thread (the variant uses a second core the parent does not), and on the 2-thread setting the
 * parent, plain pairs and fused pairs all on 2 intra-op threads, the plain ones also with 2 inter-op threads. Run:
 * {@code mvn -B -DskipTests install && mvn -B -pl compressor -Pbenchmark test -Dtest=ParallelExecutionBenchmark}.
 */
@Tag("benchmark")
class ParallelExecutionBenchmark {

    private static final int[] PAIRS = {1, 2, 3, 4, 6};

    @Test
    void pairsRunConcurrentlyWithInterOpThreads() {
        ModelProto parent = TestModels.load(TestModels.BGE_SMALL);
        StructureMap map = StructureDetector.detect(parent);
        EncodedBatch batch;
        try (BatchTokenizer tokenizer = new BatchTokenizer(TestModels.file(TestModels.BGE_TOKENIZER), 128)) {
            batch = tokenizer.encode(List.of(BrownCorpus.bundled().get(0).text()));
        }
        for (int threads : new int[] {1, 2}) {
            RuntimeSettings settings = RuntimeSettings.cpu(threads, 1, 128);
            List<Candidate> candidates = new ArrayList<>();
            candidates.add(new Candidate("parent", parent));
            for (int pairs : PAIRS) {
                int start = map.layerCount() - 2 * pairs;
                ModelProto plain = LayerParallelism.parallelise(parent, map, start, pairs, false);
                candidates.add(new Candidate(pairs + " pair(s) plain, sequential", plain));
                candidates.add(new Candidate(pairs + " pair(s) plain, 2 inter-op threads", plain, 2));
                candidates.add(new Candidate(pairs + " pair(s) fused",
                        LayerParallelism.parallelise(parent, map, start, pairs, true)));
            }
            LatencyReport report = LatencyMeter.builder(settings).warmupRuns(5).rounds(30).build()
                    .measure(candidates, batch);
            System.out.printf(Locale.ROOT, "%n%s, %d cores%n", settings.key(), Runtime.getRuntime()
                    .availableProcessors());
            System.out.print(report.render());
        }
    }
}
