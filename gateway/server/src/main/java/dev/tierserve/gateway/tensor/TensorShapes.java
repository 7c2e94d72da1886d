package dev.tierserve.gateway.tensor;

import java.util.Arrays;
import java.util.List;

/** Shape arithmetic shared by decoding and validation. */
public final class TensorShapes {

    private TensorShapes() {
    }

    /** Product of the dimensions; -1 when a dimension is negative or the product overflows. */
    public static long elementCount(long[] shape) {
        long count = 1;
        for (long dimension : shape) {
            if (dimension < 0) {
                return -1;
            }
            try {
                count = Math.multiplyExact(count, dimension);
            } catch (ArithmeticException e) {
                return -1;
            }
        }
        return count;
    }

    public static long[] toArray(List<Long> shape) {
        return shape.stream().mapToLong(Long::longValue).toArray();
    }

    /** Whether {@code actual} fits {@code declared}, where -1 in the declared shape accepts any size. */
    public static boolean fits(long[] actual, long[] declared) {
        if (actual.length != declared.length) {
            return false;
        }
        for (int i = 0; i < actual.length; i++) {
            if (declared[i] >= 0 && declared[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    public static String format(long[] shape) {
        return Arrays.toString(shape);
    }
}
