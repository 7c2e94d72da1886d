package dev.tierserve.gateway.tier;

/**
 * The session cache key of a compressed variant, {@code <model>@<variant id>}; a plain model name keys the
 * parent's session.
 */
public record VariantKey(String model, String variantId) {

    private static final char SEPARATOR = '@';

    /** The variant a session key names, or null when it names a parent model. */
    public static VariantKey parse(String sessionKey) {
        int at = sessionKey.indexOf(SEPARATOR);
        return at < 0 ? null : new VariantKey(sessionKey.substring(0, at), sessionKey.substring(at + 1));
    }

    public String sessionKey() {
        return model + SEPARATOR + variantId;
    }
}
