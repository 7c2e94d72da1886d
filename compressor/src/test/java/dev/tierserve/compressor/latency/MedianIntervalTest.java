package dev.tierserve.compressor.latency;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MedianIntervalTest {

    @Test
    void twentySamplesGiveTheSixthSmallestAndSixthLargest() {
        // P(Binomial(20, 1/2) <= 5) = 0.0207 and <= 6 is 0.0577: the 90% interval is [x(6), x(15)].
        double[] samples = IntStream.rangeClosed(1, 20).mapToDouble(i -> 21 - i).toArray();
        MedianInterval interval = MedianInterval.of(samples);
        assertEquals(10.5, interval.median());
        assertEquals(6, interval.low());
        assertEquals(15, interval.high());
    }

    @Test
    void tooFewSamplesSpanEverything() {
        MedianInterval interval = MedianInterval.of(new double[] {3, 1, 2});
        assertEquals(2, interval.median());
        assertEquals(1, interval.low());
        assertEquals(3, interval.high());
    }
}
