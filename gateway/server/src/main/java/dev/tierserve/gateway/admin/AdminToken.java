package dev.tierserve.gateway.admin;

import dev.tierserve.gateway.config.GatewayConfig;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The admin token, read once from {@code gateway.admin.token-file} (surrounding whitespace ignored). Presented tokens
 * are compared in constant time; the token itself is never logged, only whether one is configured.
 */
@Startup // a missing or empty token file stops the gateway at start, not at the first admin call
@ApplicationScoped
public class AdminToken {

    private static final Logger LOG = Logger.getLogger(AdminToken.class);

    private final Optional<byte[]> token;

    @Inject
    AdminToken(GatewayConfig config) {
        this(config.admin().tokenFile());
    }

    AdminToken(Optional<Path> file) {
        this.token = file.map(AdminToken::read);
        if (token.isPresent()) {
            LOG.infof("admin API enabled (token from %s)", file.get());
        } else {
            LOG.info("admin API disabled: gateway.admin.token-file is not set");
        }
    }

    private static byte[] read(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) {
                throw new IllegalStateException("the admin token file " + file + " is empty");
            }
            return text.getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the admin token file " + file, e);
        }
    }

    boolean configured() {
        return token.isPresent();
    }

    /** Whether {@code presented} is the token, in time independent of where they differ. */
    boolean matches(String presented) {
        return token.isPresent()
                && MessageDigest.isEqual(token.get(), presented.getBytes(StandardCharsets.UTF_8));
    }
}
