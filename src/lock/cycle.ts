/**
 * Connects a lock cycle's telemetry (telemetry/) to a held lock: the hold ends when the held
 * lock ends (HeldLock.whenEnded), and its reason says how (released, bound reached, or lost and why).
 */
import { ConclaveError } from '../base/index.js';
import type { Client } from '../client/index.js';
import { LockCycle } from '../telemetry/index.js';
import type { LockKind, LossCause } from '../telemetry/index.js';
import { LockLostError } from './errors.js';
import type { HeldLock } from './held-lock.js';

export function startCycle(kind: LockKind, name: string, client: Client): LockCycle {
  return new LockCycle(kind, name, () => client.clock.nowMs());
}

function causeOf(reason: unknown): LossCause | undefined {
  if (reason instanceof LockLostError) return reason.lossCause;
  if (ConclaveError.is(reason) && reason.code === 'ERR_LOCK_RELEASED') return undefined;
  if (ConclaveError.is(reason) && reason.code === 'ERR_LOCK_HOLD_EXPIRED') return 'max-hold';
  return 'other';
}

/** Reports the grant and, later, the end of the hold. */
export function trackHold(cycle: LockCycle, held: HeldLock): HeldLock {
  cycle.granted(held.key, held.token);
  // whenEnded, not the signal: reading the signal would start an ownership watch per cycle;
  // and a plain unlock is reported without building its LockReleasedError.
  held.whenEnded((end) => cycle.end(end.unlocked ? undefined : causeOf(end.reason())));
  return held;
}

/**
 * Reports how many contenders were ahead when we queued at `revision`: read off the hot path
 * (not awaited), at that revision, only for contended acquisitions.
 */
export function reportContention(cycle: LockCycle, client: Client, blockers: string, myRevision: bigint, revision: bigint): void {
  void client.get(blockers).prefix().keysOnly().maxCreateRevision(myRevision - 1n).revision(revision)
    .then((result) => cycle.contention(result.kvs.length), () => {});
}
