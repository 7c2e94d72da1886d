package dev.tierserve.compressor.method.ziplm;

import ai.onnxruntime.OnnxTensor;
import dev.tierserve.compressor.calib.CalibrationRunner;
import dev.tierserve.compressor.calib.RelativeError;
import dev.tierserve.compressor.graph.search.SearchGraph;
import dev.tierserve.compressor.method.Scoring;
import dev.tierserve.compressor.runtime.Feeds;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a ZipLM candidate plan is scored by: the relative error of the search graph's output against the parent's on
 * the scoring texts, the plan realised as the graph's inputs. Different error weights often give the same plan, so
 * scores are remembered; a block level's inputs (mask, OBS weight, gate) become runtime tensors once, when a plan
 * first uses them, and every later plan feeds the same tensors. Closing frees them.
 */
final class CalibrationLoss implements AutoCloseable {

    private final CalibrationRunner.Session session;
    private final SearchGraph search;
    private final List<PrunableBlock> blocks;
    private final Scoring scoring;
    private final Map<String, OnnxTensor> defaults = new HashMap<>();
    /** Per block, its levels' input tensors, by remaining groups. */
    private final List<Map<Integer, Map<String, OnnxTensor>>> levelInputs = new ArrayList<>();
    private final Map<List<Integer>, Double> scored = new HashMap<>();

    /**
     * @param session a session over {@code search}'s model, left open
     */
    CalibrationLoss(CalibrationRunner.Session session, SearchGraph search, List<PrunableBlock> blocks,
                    Scoring scoring) {
        this.session = session;
        this.search = search;
        this.blocks = blocks;
        this.scoring = scoring;
        try {
            search.defaults().forEach((name, value) -> defaults.put(name, Feeds.floatTensor(value)));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        blocks.forEach(b -> levelInputs.add(new HashMap<>()));
    }

    double of(PruningPlan plan) {
        return scored.computeIfAbsent(Arrays.stream(plan.remainingGroups()).boxed().toList(), key -> {
            Map<String, OnnxTensor> inputs = new HashMap<>(defaults);
            for (int b = 0; b < blocks.size(); b++) {
                inputs.putAll(levelInputs(b, plan.remainingGroups()[b]));
            }
            RelativeError error = scoring.error();
            session.runOnTensors(inputs, scoring.batches(), List.of(error));
            return error.value();
        });
    }

    /** Distinct plans scored so far. */
    int plansScored() {
        return scored.size();
    }

    private Map<String, OnnxTensor> levelInputs(int block, int remaining) {
        return levelInputs.get(block).computeIfAbsent(remaining, r -> {
            Map<String, OnnxTensor> tensors = new HashMap<>();
            PruningPlan.blockInputs(search, blocks.get(block), r)
                    .forEach((name, value) -> tensors.put(name, Feeds.floatTensor(value)));
            return tensors;
        });
    }

    @Override
    public void close() {
        Feeds.close(defaults);
        levelInputs.forEach(levels -> levels.values().forEach(Feeds::close));
    }
}
