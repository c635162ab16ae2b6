/** Injection tokens of what main.ts builds from the validated config (explicit @Inject: no decorator metadata under tsx). */
export const VIDEO_SERVICE = Symbol('VIDEO_SERVICE');
export const API_KEY_REGISTRY = Symbol('API_KEY_REGISTRY');
export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');
export const RATE_LIMITER = Symbol('RATE_LIMITER');
export const SUBMISSION_LIMITS = Symbol('SUBMISSION_LIMITS');
/** Aborted when the process starts shutting down: open event streams end so the server can close. */
export const SHUTDOWN_SIGNAL = Symbol('SHUTDOWN_SIGNAL');
export const LOGGER = Symbol('LOGGER');
