package dev.tierserve.gateway.tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A request input after wire decoding and validation, before it meets a model.
 *
 * @param name     the input's name
 * @param datatype its datatype
 * @param shape    its shape; the product equals the element count
 * @param data     fixed-size elements, direct and in native byte order; null for BYTES
 * @param strings  BYTES elements; null otherwise
 */
public record DecodedTensor(String name, Datatype datatype, long[] shape, ByteBuffer data, byte[][] strings) {

    @Override
    public String toString() {
        return name + ":" + datatype + Arrays.toString(shape);
    }
}
