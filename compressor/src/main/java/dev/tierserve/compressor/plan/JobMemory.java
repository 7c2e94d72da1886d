package dev.tierserve.compressor.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.method.ziplm.ObsMemory;

import java.util.List;
import java.util.Locale;

/**
 * The heap a plan needs at its peak, estimated from the parent before anything runs, so that a job that cannot fit is
 * refused with the reason instead of running out of memory half-way: a fixed part (the JVM, the tokenizer, the
 * corpus, calibration and evaluation batches), the parent twice (its graph, and a variant's or a session's copy of
 * it), and, where ZipLM runs, its OBS phase ({@link ObsMemory}) with one block being pruned.
 *
 * @param parentBytes the parent's serialized size
 * @param obsBytes    ZipLM's OBS phase at its peak; 0 when no method runs ZipLM
 */
public record JobMemory(long parentBytes, long obsBytes) {

    /** What every plan holds besides the models, measured with margin (see compressor/README.md). */
    static final long FIXED_BYTES = 320L << 20;

    static JobMemory of(ModelProto parent, List<Method> methods) {
        boolean zipLm = methods.contains(Method.ZIPLM) || methods.contains(Method.TRIMLLM_ZIPLM);
        StructureMap map = StructureDetector.detect(parent);
        return new JobMemory(parent.getSerializedSize(), zipLm ? ObsMemory.held(map) + ObsMemory.perBlock(map) : 0);
    }

    public long peakBytes() {
        return FIXED_BYTES + 2 * parentBytes + obsBytes;
    }

    /** @throws JobTooLargeException when the peak does not fit in {@code maxHeapBytes} */
    void check(String model, long maxHeapBytes) {
        if (peakBytes() > maxHeapBytes) {
            throw new JobTooLargeException(String.format(Locale.ROOT, "compressing '%s' needs about %d MiB of heap "
                    + "and this JVM has %d MiB: give it more (java -Xmx%dm, or gateway.compressor.heap for the "
                    + "gateway's own worker)", model, mib(peakBytes()), mib(maxHeapBytes),
                    roundUp(mib(peakBytes() * 5 / 4))));
        }
    }

    static long mib(long bytes) {
        return bytes >> 20;
    }

    private static long roundUp(long mib) {
        return (mib + 255) / 256 * 256;
    }

    /** A plan that would not fit in the heap, refused before it started. */
    public static final class JobTooLargeException extends IllegalStateException {
        JobTooLargeException(String message) {
            super(message);
        }
    }
}
