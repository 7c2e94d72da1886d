package dev.tierserve.gateway.tensor;

import dev.tierserve.proto.inference.ModelInferResponse.InferOutputTensor;
import dev.tierserve.proto.inference.ModelInferResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalDouble;

/**
 * How closely two answers to one request agree: the mean, over the FP32 outputs both have and over each output's rows
 * (first dimension), of the cosine between the two rows. For an encoder's embeddings this is the cosine of the
 * embeddings; for hidden states, of each sentence's flattened states.
 */
public final class OutputAgreement {

    private OutputAgreement() {
    }

    /** The mean row cosine, or empty when the answers share no FP32 output of one shape. */
    public static OptionalDouble meanCosine(ModelInferResponse a, ModelInferResponse b) {
        double sum = 0;
        int rows = 0;
        for (int i = 0; i < a.getOutputsCount(); i++) {
            InferOutputTensor output = a.getOutputs(i);
            int j = indexOf(b, output.getName());
            if (j < 0 || !output.getDatatype().equals(Datatype.FP32.name())
                    || !output.getShapeList().equals(b.getOutputs(j).getShapeList()) || output.getShapeCount() == 0) {
                continue;
            }
            float[] x = floats(a, i);
            float[] y = floats(b, j);
            int count = (int) output.getShape(0);
            if (count == 0 || x.length != y.length || x.length % count != 0) {
                continue;
            }
            int width = x.length / count;
            for (int row = 0; row < count; row++) {
                sum += cosine(x, y, row * width, width);
                rows++;
            }
        }
        return rows == 0 ? OptionalDouble.empty() : OptionalDouble.of(sum / rows);
    }

    private static int indexOf(ModelInferResponse response, String name) {
        for (int i = 0; i < response.getOutputsCount(); i++) {
            if (response.getOutputs(i).getName().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    private static float[] floats(ModelInferResponse response, int index) {
        if (response.getRawOutputContentsCount() > index) {
            ByteBuffer bytes = response.getRawOutputContents(index).asReadOnlyByteBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(values);
            return values;
        }
        var contents = response.getOutputs(index).getContents();
        float[] values = new float[contents.getFp32ContentsCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = contents.getFp32Contents(i);
        }
        return values;
    }

    private static double cosine(float[] x, float[] y, int offset, int length) {
        double dot = 0;
        double xx = 0;
        double yy = 0;
        for (int i = offset; i < offset + length; i++) {
            dot += (double) x[i] * y[i];
            xx += (double) x[i] * x[i];
            yy += (double) y[i] * y[i];
        }
        return xx == 0 || yy == 0 ? (xx == yy ? 1 : 0) : dot / Math.sqrt(xx * yy);
    }
}
