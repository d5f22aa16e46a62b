// What one run may cost, whatever its tenant saved or its event carried (design notes §11).
// One place for every bound, so the API that refuses at save time and the worker that refuses at run
// time agree. The README's "Limits and security" section lists them.

/** A saved trigger or action config, as JSON text. */
export const MAX_SAVED_CONFIG_BYTES = 64 * 1024;

/** Nesting of any JSON the system accepts: saved configs, webhook bodies, trigger data. */
export const MAX_JSON_DEPTH = 64;

/** An action config after its templates are rendered; past it the run fails, non-retryably. */
export const MAX_RENDERED_CONFIG_BYTES = 1024 * 1024;

/**
 * A run's trigger data as JSON text. Temporal refuses payloads over 2 MB, and the run input also carries the
 * action config; this keeps every input well below that.
 */
export const MAX_TRIGGER_DATA_BYTES = 1024 * 1024;
