/**
 * Lease expiry from a history. A key is put under a lease granted with `ttlSeconds` and never
 * kept alive. The server starts the lease no earlier than the grant request was sent, so the
 * key may not disappear before sentAt + TTL (an early expiry breaks every lock built on
 * leases). It must disappear by grantedAt + TTL, except that a new leader renews every lease
 * to a full TTL when it takes over (etcd's lessor does; so does ours): so the bound is
 * max(grantedAt, the last leader change before the deletion) + TTL + an election timeout,
 * plus `slackMs` for the revoke to commit on a loaded machine.
 *
 * Past that bound a key is still not overdue while the cluster commits nothing: no revoke can
 * commit without a quorum (no system can do better), and when the quorum comes back the revoke
 * proposed long before commits with the first entries. So a late deletion is a violation when
 * the cluster committed a write that was sent after the bound ahead of it: the write's revision
 * is below the deletion's, so the leader had not proposed the revoke when the write reached it.
 * (A key never deleted is overdue once its bound passed: the run's last writes come after it.)
 *
 * When was a key deleted? Not when a watch delivered the deletion: a watch is served by one
 * member, and a member that lags (a re-added member promoted at 90 % of the leader's log, a
 * follower back from a partition) delivers a revision long after it was committed, which is
 * legal. So the deletion's time is bounded from its revision instead: any response that
 * carried a header revision >= the deletion's came back after the deletion was committed.
 * The checker takes the earliest of that and the watch sighting (both are upper bounds).
 */

export interface LeaseRecord {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly sentAt: number;
  readonly grantedAt: number;
  /** When a watch saw the key deleted (undefined: not seen). */
  deletedSeenAt: number | undefined;
  /** The revision that deleted the key (from a watch event or the run's reference stream). */
  deleteRevision?: bigint | undefined;
}

/** A response's header revision and when it came back: revision `revision` was committed by `at`. */
export interface RevisionSample {
  readonly revision: bigint;
  readonly at: number;
  /** For an acknowledged write (committed through raft at `revision`): when it was sent. */
  readonly calledAt?: number;
}

export interface LeaseBounds {
  readonly electionTimeoutMs: number;
  readonly slackMs: number;
  /** Times at which a leader change was observed (sorted). */
  readonly leaderChanges: readonly number[];
  /** Records with no deletion seen by this time are overdue when their bound passed. */
  readonly observedUntil: number;
  /** Responses' header revisions (any order): they bound when a deletion revision was committed. */
  readonly revisions?: readonly RevisionSample[];
}

export interface LeaseCheck {
  violations: string[];
  expired: number;
  /**
   * Deletions the watch delivered past the bound although their revision was committed
   * within it (a lagging member served the watch): the false positives the revision bound removes.
   */
  lateWatchSightings: number;
  /** The largest (watch sighting - committed-by bound), ms, among the deletions with both. */
  maxWatchLagMs: number;
  /** Deletions past the bound while no write sent after the bound was committed ahead of them (no quorum). */
  lateWithoutQuorum: number;
}

/**
 * committedBy(r): the earliest time a response with header revision >= r came back, or
 * undefined when none did. Sorted by revision with a suffix minimum of the times.
 */
export function revisionClock(samples: readonly RevisionSample[]): (revision: bigint) => number | undefined {
  const sorted = [...samples].sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
  const earliestFrom = new Array<number>(sorted.length);
  let earliest = Number.POSITIVE_INFINITY;
  for (let i = sorted.length - 1; i >= 0; i--) {
    earliest = Math.min(earliest, sorted[i]!.at);
    earliestFrom[i] = earliest;
  }
  return (revision) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length ? earliestFrom[lo] : undefined;
  };
}

export function checkLeases(records: readonly LeaseRecord[], bounds: LeaseBounds): LeaseCheck {
  const violations: string[] = [];
  const committedBy = revisionClock(bounds.revisions ?? []);
  let expired = 0;
  let lateWatchSightings = 0;
  let maxWatchLagMs = 0;
  let lateWithoutQuorum = 0;
  const deadlineFor = (r: LeaseRecord, seen: number): number => {
    const lastChange = [...bounds.leaderChanges].reverse().find((t) => t <= seen) ?? Number.NEGATIVE_INFINITY;
    return Math.max(r.grantedAt, lastChange) + r.ttlSeconds * 1000 + bounds.electionTimeoutMs + bounds.slackMs;
  };
  const writes = (bounds.revisions ?? []).filter((x) => x.calledAt !== undefined).sort((a, b) => a.calledAt! - b.calledAt!);
  /** The first acknowledged write sent at or after `deadline` that was committed before revision `deleted`. */
  const committedAhead = (deadline: number, deleted: bigint): RevisionSample | undefined => writes.find((w) => w.calledAt! >= deadline && w.revision < deleted);
  for (const r of records) {
    const ttlMs = r.ttlSeconds * 1000;
    const byRevision = r.deleteRevision === undefined ? undefined : committedBy(r.deleteRevision);
    const deletedBy = r.deletedSeenAt === undefined ? byRevision : Math.min(r.deletedSeenAt, byRevision ?? Number.POSITIVE_INFINITY);
    const seen = deletedBy ?? bounds.observedUntil;
    if (deletedBy !== undefined) {
      expired += 1;
      // Both times are upper bounds of the deletion, so one before sentAt + TTL proves it early.
      if (deletedBy < r.sentAt + ttlMs) violations.push(`${r.key}: deleted ${(deletedBy - r.sentAt).toFixed(0)} ms after the grant was sent, before its ${r.ttlSeconds} s TTL`);
    }
    if (r.deletedSeenAt !== undefined && byRevision !== undefined) {
      maxWatchLagMs = Math.max(maxWatchLagMs, r.deletedSeenAt - byRevision);
      if (r.deletedSeenAt > deadlineFor(r, r.deletedSeenAt) && byRevision <= deadlineFor(r, byRevision)) lateWatchSightings += 1;
    }
    const deadline = deadlineFor(r, seen);
    if (seen <= deadline) continue;
    const after = `${(seen - r.grantedAt).toFixed(0)} ms after the grant, past its bound of ${(deadline - r.grantedAt).toFixed(0)} ms`;
    if (deletedBy === undefined) {
      violations.push(`${r.key}: still there ${after}`);
    } else if (r.deleteRevision === undefined) {
      // No revision to order it by (not expected: the reference stream has every deletion).
      violations.push(`${r.key}: deleted ${after}`);
    } else {
      const ahead = committedAhead(deadline, r.deleteRevision);
      if (ahead === undefined) lateWithoutQuorum += 1;
      else violations.push(`${r.key}: deleted at revision ${r.deleteRevision} ${after}; a write sent ${(ahead.calledAt! - deadline).toFixed(0)} ms after the bound was committed before it, at revision ${ahead.revision}`);
    }
  }
  return { violations, expired, lateWatchSightings, maxWatchLagMs, lateWithoutQuorum };
}
