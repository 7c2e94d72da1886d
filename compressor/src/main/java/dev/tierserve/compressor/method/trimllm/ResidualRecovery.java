package dev.tierserve.compressor.method.trimllm;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.OutputRecorder;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.graph.MutableGraph;
import dev.tierserve.compressor.graph.edit.ChannelAffine;
import dev.tierserve.compressor.graph.edit.SubBlock;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval;
import dev.tierserve.compressor.graph.edit.SubBlockRemoval.Span;
import dev.tierserve.compressor.graph.structure.StructureMap;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The closed-form stand-in for TrimLLM's fine-tuning: where a run of sub-blocks was removed, the stream after it
 * becomes a per-channel affine map of the stream before it, {@code x ⊙ a + b}, fitted by least squares to the
 * parent's stream after the run on calibration tokens. Spans are fitted in stream order, each on the model with
 * the earlier corrections in place, so a correction sees the activations it will really receive.
 */
public final class ResidualRecovery {

    private ResidualRecovery() {
    }

    public static ModelProto fit(ModelProto parent, StructureMap map, Set<SubBlock> dropped,
                                 List<EncodedBatch> calibration, CalibrationRunner runner) {
        List<Span> spans = SubBlockRemoval.spans(map, dropped);
        Map<String, ChannelAffine> corrections = new LinkedHashMap<>();
        ModelProto parentWithTargets = MutableGraph.withOutputs(parent, spans.stream().map(Span::target).toList());
        try (CalibrationRunner.Session reference = runner.open(parentWithTargets)) {
            for (Span span : spans) {
                ModelProto current = MutableGraph.withOutputs(SubBlockRemoval.drop(parent, map, dropped, corrections),
                        List.of(span.source()));
                ChannelAffineFit fit = new ChannelAffineFit(map.hiddenSize());
                try (CalibrationRunner.Session candidate = runner.open(current)) {
                    for (EncodedBatch batch : calibration) {
                        OutputRecorder target = new OutputRecorder(span.target());
                        OutputRecorder source = new OutputRecorder(span.source());
                        reference.run(Map.<String, TensorProto>of(), List.of(batch), List.of(target));
                        candidate.run(Map.<String, TensorProto>of(), List.of(batch), List.of(source));
                        fit.add(source.batch(0), target.batch(0), batch.attentionMask());
                    }
                }
                corrections.put(span.target(), fit.solve());
            }
        }
        return SubBlockRemoval.drop(parent, map, dropped, corrections);
    }
}
