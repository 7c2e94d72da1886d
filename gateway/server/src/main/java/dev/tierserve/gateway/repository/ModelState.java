package dev.tierserve.gateway.repository;

/**
 * Where a model stands, as RepositoryIndex reports it.
 *
 * @param state  {@code READY} (loaded), {@code UNAVAILABLE} (not loaded, or failed: see reason)
 * @param reason why it is not ready; empty when ready
 */
public record ModelState(String state, String reason) {

    public static final ModelState NOT_LOADED = new ModelState("UNAVAILABLE", "not loaded; loads on first request");
    public static final ModelState READY = new ModelState("READY", "");

    public static ModelState failed(String reason) {
        return new ModelState("UNAVAILABLE", reason);
    }
}
