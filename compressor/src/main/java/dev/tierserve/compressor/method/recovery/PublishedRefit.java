package dev.tierserve.compressor.method.recovery;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.data.EncodedBatch;
import dev.tierserve.compressor.method.MethodContext;
import dev.tierserve.compressor.method.Scoring;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The output-projection refit of a variant a structured method publishes ({@link OutputProjectionRefit}), for
 * methods that do not refit on their own (Bonsai, TrimLLM). The refit changes weight values, never the graph or a
 * shape, so the variant's measured speedup stands. It fits the very texts that score it, so the error after it
 * flatters it: held-out quality is the planner's evaluation's to judge; a refit that raised even this error is not
 * kept.
 */
public final class PublishedRefit {

    /** The variant to publish and, when the refit was kept, its error on the scoring texts after it. */
    public record Outcome(ModelProto model, Double lossAfterRefit) {

        /** Records {@code refitted} and, when refitted, {@code lossAfterRefit} in a manifest's parameters. */
        public void record(Map<String, Object> parameters) {
            parameters.put("refitted", lossAfterRefit != null);
            if (lossAfterRefit != null) {
                parameters.put("lossAfterRefit", lossAfterRefit);
            }
        }
    }

    private final OutputProjectionRefit refit;
    private final double ridge;
    private final ModelProto parent;
    private final List<EncodedBatch> refitTexts;
    private final Scoring scoring;
    private final Consumer<String> log;

    /**
     * @param ridge      the refit's ridge; 0 publishes variants as they are
     * @param refitTexts the texts the refit fits, batched
     * @param scoring    the texts the method's calibration loss is measured on
     */
    public PublishedRefit(double ridge, MethodContext context, List<EncodedBatch> refitTexts, Scoring scoring) {
        this.refit = new OutputProjectionRefit(context.runner(), ridge, context.log());
        this.ridge = ridge;
        this.parent = context.parent();
        this.refitTexts = refitTexts;
        this.scoring = scoring;
        this.log = context.log();
    }

    /**
     * @param label    for the log, e.g. {@code Bonsai 1.50x}
     * @param loss     the variant's relative output error on the scoring texts before the refit
     */
    public Outcome apply(String label, ModelProto variant, double loss) {
        if (ridge <= 0) {
            return new Outcome(variant, null);
        }
        ModelProto refitted = refit.refit(variant, parent, refitTexts);
        double after = scoring.loss(refitted);
        log.accept(String.format(Locale.ROOT, "%s: refit error %.5f -> %.5f", label, loss, after));
        return after <= loss ? new Outcome(refitted, after) : new Outcome(variant, null);
    }
}
