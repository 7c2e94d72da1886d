package dev.tierserve.gateway.tier;

import dev.tierserve.store.TierNames;
import io.grpc.Status;
import java.util.regex.Pattern;

/**
 * A speedup tier a request may ask for: {@code exact} (the unmodified model), a speedup target such as
 * {@code 1.5x}, or {@code auto} (the gateway chooses).
 */
public record Tier(String name) {

    public static final Tier EXACT = new Tier("exact");
    public static final Tier AUTO = new Tier("auto");

    private static final Pattern SPEEDUP = Pattern.compile("[0-9]+(\\.[0-9]+)?x");

    /** Parses a request's {@code tier} parameter; INVALID_ARGUMENT for a malformed one. */
    public static Tier parse(String value) {
        String name = value.trim().toLowerCase(java.util.Locale.ROOT);
        if (name.equals(EXACT.name) || name.equals(AUTO.name)) {
            return new Tier(name);
        }
        if (SPEEDUP.matcher(name).matches()) {
            double speedup = Double.parseDouble(name.substring(0, name.length() - 1));
            if (speedup == 1.0) {
                return EXACT;
            }
            if (speedup > 1.0) {
                return new Tier(TierNames.format(speedup)); // one spelling per tier: "2.0x" is "2x"
            }
        }
        throw Status.INVALID_ARGUMENT
                .withDescription("tier '" + value + "' is malformed; use 'exact', 'auto' or a speedup such as '2x'")
                .asRuntimeException();
    }

    /** The speedup a tier promises: 1 for exact and auto. */
    public double speedup() {
        return name.endsWith("x") ? TierNames.parse(name) : 1.0;
    }

    @Override
    public String toString() {
        return name;
    }
}
