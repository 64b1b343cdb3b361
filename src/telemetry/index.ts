/** OpenTelemetry spans and metrics (no-op without an SDK) and plain event hooks. */
export { LockCycle, recordLockDelay, recordKeepAlive, recordSessionLoss, recordWatchReconnect } from './telemetry.js';
export { onConclaveEvent } from './events.js';
export type { ConclaveEvent, LockKind, LossCause } from './events.js';
