package dev.tierserve.client;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

/**
 * What a load run saw: latency of every answered request (HdrHistogram, microseconds, measured from when it was due
 * to be sent, so that a stalled server is not hidden), answers by status code, served tier and predicted SLA misses,
 * and how many met their deadline.
 */
final class LoadReport {

    private final Recorder latencies = new Recorder(TimeUnit.MINUTES.toMicros(10), 3);
    private final Histogram total = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
    private final Map<String, Long> statuses = new TreeMap<>();
    private final Map<String, Long> tiers = new TreeMap<>();
    private long withinDeadline;
    private long slaMissPredicted;

    void ok(long micros, String tier, boolean missPredicted, boolean inTime) {
        latencies.recordValue(Math.min(micros, TimeUnit.MINUTES.toMicros(10)));
        synchronized (this) {
            statuses.merge("OK", 1L, Long::sum);
            tiers.merge(tier, 1L, Long::sum);
            withinDeadline += inTime ? 1 : 0;
            slaMissPredicted += missPredicted ? 1 : 0;
        }
    }

    synchronized void failed(String code) {
        statuses.merge(code, 1L, Long::sum);
    }

    /** Moves what was recorded since the last call into the totals; returns the interval's histogram. */
    synchronized Histogram interval() {
        Histogram interval = latencies.getIntervalHistogram();
        total.add(interval);
        return interval;
    }

    synchronized long answered() {
        return statuses.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The whole run as a JSON-ready map. */
    synchronized Map<String, Object> summary(String mode, double seconds, int threads) {
        interval();
        Map<String, Object> out = new TreeMap<>();
        long answered = answered();
        out.put("mode", mode);
        out.put("seconds", seconds);
        out.put("client_threads", threads);
        out.put("requests", answered);
        out.put("throughput_per_s", answered / seconds);
        out.put("ok", total.getTotalCount());
        out.put("statuses", new TreeMap<>(statuses));
        out.put("served_tiers", new TreeMap<>(tiers));
        out.put("within_deadline", withinDeadline);
        out.put("within_deadline_share", answered == 0 ? 0.0 : withinDeadline / (double) answered);
        out.put("sla_miss_predicted", slaMissPredicted);
        Map<String, Double> ms = new TreeMap<>();
        for (double p : new double[] {50, 90, 95, 99, 99.9}) {
            ms.put("p" + (p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p)),
                    total.getValueAtPercentile(p) / 1000.0);
        }
        ms.put("max", total.getMaxValue() / 1000.0);
        out.put("latency_ms", ms);
        return out;
    }
}
