package dev.tierserve.gateway.tier;

import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;

/**
 * Which side of a canary split a routing key lands on. The key is hashed, with the model, tier and canary, to a
 * position in [0, 1); a key is on the canary when its position is below the canary's weight. The same key always
 * lands on the same side at a given weight, and raising the weight only moves keys from stable to canary. The canary
 * takes part in the hash so that successive canaries of a tier are tried by different clients.
 */
final class StickySplit {

    private StickySplit() {
    }

    /** The key's position in [0, 1) for this canary. */
    static double position(String model, String tier, String canary, String routingKey) {
        long hash = Hashing.murmur3_128().newHasher()
                .putString(model, StandardCharsets.UTF_8).putByte((byte) 0)
                .putString(tier, StandardCharsets.UTF_8).putByte((byte) 0)
                .putString(canary, StandardCharsets.UTF_8).putByte((byte) 0)
                .putString(routingKey, StandardCharsets.UTF_8).hash().asLong();
        return (hash >>> 11) * 0x1.0p-53; // the top 53 bits: a double's full precision, uniform in [0, 1)
    }

    static boolean onCanary(String model, String tier, String canary, String routingKey, double weight) {
        return position(model, tier, canary, routingKey) < weight;
    }
}
