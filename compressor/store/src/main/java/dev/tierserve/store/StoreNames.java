package dev.tierserve.store;

import java.util.regex.Pattern;

/**
 * The names the store turns into paths and object keys: models, variants and jobs. One to 128 letters, digits,
 * dots, dashes and underscores, not starting with a dot, so that no name can reach outside its folder
 * ({@code ..}, {@code /}), hide itself, or clash with the store's staging folders (which start with a dot).
 */
public final class StoreNames {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

    private StoreNames() {
    }

    /** Whether {@code name} may name a model, variant or job. */
    public static boolean valid(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /**
     * {@code name}, checked.
     *
     * @throws IllegalArgumentException naming what was wrong (its text cut to 64 characters)
     */
    public static String check(String name) {
        if (!valid(name)) {
            throw new IllegalArgumentException(whyInvalid(name));
        }
        return name;
    }

    /** What is wrong with an invalid name, showing at most its first 64 characters. */
    public static String whyInvalid(String name) {
        String shown = name == null ? "null" : name.length() > 64 ? name.substring(0, 64) + "..." : name;
        return "'" + shown + "' is not a valid model, variant or job name: use 1 to 128 letters, digits, '.', '-' or "
                + "'_', not starting with '.'";
    }
}
