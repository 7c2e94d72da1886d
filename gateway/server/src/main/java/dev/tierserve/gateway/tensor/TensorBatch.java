package dev.tierserve.gateway.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Requests' fixed-size inputs concatenated along the batch (first) dimension, for one execution. */
public final class TensorBatch {

    private TensorBatch() {
    }

    /**
     * Concatenates the inputs of several requests, each a list of the same names in the same order with equal
     * datatypes and equal dimensions after the first (the caller's batch key guarantees it); no BYTES.
     */
    public static List<DecodedTensor> concatenate(List<List<DecodedTensor>> requests) {
        List<DecodedTensor> first = requests.get(0);
        List<DecodedTensor> joined = new ArrayList<>(first.size());
        for (int input = 0; input < first.size(); input++) {
            long rows = 0;
            int bytes = 0;
            for (List<DecodedTensor> request : requests) {
                DecodedTensor tensor = request.get(input);
                rows += tensor.shape()[0];
                bytes += tensor.data().remaining();
            }
            ByteBuffer data = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
            for (List<DecodedTensor> request : requests) {
                data.put(request.get(input).data().duplicate());
            }
            data.flip();
            DecodedTensor template = first.get(input);
            long[] shape = Arrays.copyOf(template.shape(), template.shape().length);
            shape[0] = rows;
            joined.add(new DecodedTensor(template.name(), template.datatype(), shape, data, null));
        }
        return joined;
    }
}
