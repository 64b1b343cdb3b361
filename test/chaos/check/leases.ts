/**
 * Lease expiry from a history. A key is put under a lease granted with `ttlSeconds` and never
 * kept alive. The server starts the lease no earlier than the grant request was sent, so the
 * key may not disappear before sentAt + TTL (an early expiry breaks every lock built on
 * leases). It must disappear by grantedAt + TTL, except that a new leader renews every lease
 * to a full TTL when it takes over (etcd's lessor does; so does ours): so the bound is
 * max(grantedAt, the last leader change before the deletion) + TTL + an election timeout,
 * plus `slackMs` for the revoke to commit and the watch to deliver on a loaded machine.
 */

export interface LeaseRecord {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly sentAt: number;
  readonly grantedAt: number;
  /** When a watch saw the key deleted (undefined: not seen). */
  deletedSeenAt: number | undefined;
}

export interface LeaseBounds {
  readonly electionTimeoutMs: number;
  readonly slackMs: number;
  /** Times at which a leader change was observed (sorted). */
  readonly leaderChanges: readonly number[];
  /** Records with no deletion seen by this time are overdue when their bound passed. */
  readonly observedUntil: number;
}

export function checkLeases(records: readonly LeaseRecord[], bounds: LeaseBounds): { violations: string[]; expired: number } {
  const violations: string[] = [];
  let expired = 0;
  for (const r of records) {
    const ttlMs = r.ttlSeconds * 1000;
    const seen = r.deletedSeenAt ?? bounds.observedUntil;
    if (r.deletedSeenAt !== undefined) {
      expired += 1;
      if (r.deletedSeenAt < r.sentAt + ttlMs) violations.push(`${r.key}: deleted ${(r.deletedSeenAt - r.sentAt).toFixed(0)} ms after the grant was sent, before its ${r.ttlSeconds} s TTL`);
    }
    const lastChange = [...bounds.leaderChanges].reverse().find((t) => t <= seen) ?? Number.NEGATIVE_INFINITY;
    const deadline = Math.max(r.grantedAt, lastChange) + ttlMs + bounds.electionTimeoutMs + bounds.slackMs;
    if (seen > deadline) violations.push(`${r.key}: ${r.deletedSeenAt === undefined ? 'still there' : 'deleted'} ${(seen - r.grantedAt).toFixed(0)} ms after the grant, past its bound of ${(deadline - r.grantedAt).toFixed(0)} ms`);
  }
  return { violations, expired };
}
