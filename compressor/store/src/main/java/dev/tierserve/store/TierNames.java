package dev.tierserve.store;

import java.util.Locale;

/** Speedup tiers as the wire names them: {@code 1.5} is {@code "1.5x"}, {@code 2} is {@code "2x"}. */
public final class TierNames {

    private TierNames() {
    }

    public static String format(double speedup) {
        return (speedup == Math.rint(speedup) ? String.valueOf((long) speedup) : String.valueOf(speedup)) + "x";
    }

    /** @throws IllegalArgumentException for anything but a speedup of at least 1 such as {@code 1.5x} */
    public static double parse(String tier) {
        String name = tier.trim().toLowerCase(Locale.ROOT);
        if (!name.matches("[0-9]+(\\.[0-9]+)?x")) {
            throw new IllegalArgumentException("tier '" + tier + "' is not a speedup such as '1.5x'");
        }
        double speedup = Double.parseDouble(name.substring(0, name.length() - 1));
        if (speedup <= 1.0) {
            throw new IllegalArgumentException("tier '" + tier + "' must be faster than 1x");
        }
        return speedup;
    }
}
