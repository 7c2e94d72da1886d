package dev.tierserve.gateway.repository;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tier's latency objective, declared in a model's config.pbtxt as
 * {@code parameters { key: "latency_objective.<tier>" value { string_value: "p99<=40ms" } }}: the given percentile
 * of the tier's request latency stays at or below the bound. Exported as a metric beside the measured latency.
 *
 * @param tier       {@code exact} or a speedup such as {@code 1.5x}
 * @param percentile 0 < p < 100
 */
public record LatencyObjective(String tier, double percentile, Duration max) {

    static final String PARAMETER_PREFIX = "latency_objective.";
    private static final Pattern TIER = Pattern.compile("exact|[0-9]+(\\.[0-9]+)?x");
    private static final Pattern FORM = Pattern.compile("p([0-9]+(?:\\.[0-9]+)?)\\s*<=\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s|us)");

    /**
     * @throws IllegalArgumentException naming what is wrong, for a tier or objective that does not parse
     */
    public static LatencyObjective parse(String tier, String objective) {
        if (!TIER.matcher(tier).matches()) {
            throw new IllegalArgumentException("latency objective for '" + tier + "': the tier must be exact or a "
                    + "speedup such as 1.5x");
        }
        Matcher m = FORM.matcher(objective.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("latency objective of tier " + tier + ": '" + objective
                    + "' is not of the form p99<=40ms (units ms, s or us)");
        }
        double percentile = Double.parseDouble(m.group(1));
        if (percentile <= 0 || percentile >= 100) {
            throw new IllegalArgumentException("latency objective of tier " + tier + ": percentile " + percentile
                    + " is not between 0 and 100");
        }
        double amount = Double.parseDouble(m.group(2));
        double nanos = amount * switch (m.group(3)) {
            case "s" -> 1e9;
            case "ms" -> 1e6;
            default -> 1e3;
        };
        return new LatencyObjective(tier, percentile, Duration.ofNanos((long) nanos));
    }
}
