/**
 * Lock safety from a history. Workers take a Mutex, then write to a resource (in the test
 * process) guarded by a FencingGuard, every write carrying the holder's fencing token. The
 * resource records every attempt and whether the guard accepted it. At the end of its critical
 * section a holder reads its lock key linearizably: if the key is still there with the same
 * create revision, the key existed for the whole section (a deleted and re-created key has a
 * new create revision), so the holder held the lock throughout and no other holder can have
 * been granted it meanwhile ("confirmed"). A holder that lost its lease may legitimately
 * overlap the next one: that is what fencing is for.
 *
 * Violations: a stale token accepted (an accepted write whose token is below one accepted
 * before it); two holders interleaved in the resource's accepted order (t1, t2, t1);
 * a confirmed holder's write refused or overlapped by another holder's accepted write; two
 * holders granted the same token.
 */

export interface ResourceWrite {
  readonly token: bigint;
  readonly holder: number;
  readonly accepted: boolean;
}

export interface CriticalSection {
  readonly holder: number;
  readonly token: bigint;
  /** The key was still ours (same create revision) when the section ended. */
  readonly confirmed: boolean;
}

export interface LockCheck {
  readonly violations: string[];
  readonly sections: number;
  readonly writes: number;
}

export function checkLockHistory(writes: readonly ResourceWrite[], sections: readonly CriticalSection[]): LockCheck {
  const violations: string[] = [];
  let highest = 0n;
  const closed = new Set<bigint>();
  let current: bigint | undefined;
  for (const [i, w] of writes.entries()) {
    if (!w.accepted) continue;
    if (w.token < highest) violations.push(`write ${i}: stale token ${w.token} accepted after ${highest}`);
    if (current !== undefined && w.token !== current) {
      closed.add(current);
      if (closed.has(w.token)) violations.push(`write ${i}: holder with token ${w.token} wrote again after token ${current} (interleaved sections)`);
    }
    current = w.token;
    if (w.token > highest) highest = w.token;
  }
  const byToken = new Map<bigint, CriticalSection>();
  for (const s of sections) {
    const other = byToken.get(s.token);
    if (other !== undefined && other.holder !== s.holder) violations.push(`token ${s.token} granted to holders ${other.holder} and ${s.holder}`);
    byToken.set(s.token, s);
  }
  // A confirmed section held the lock throughout: nobody else wrote inside it, and none of its writes was refused.
  const confirmed = new Set(sections.filter((s) => s.confirmed).map((s) => s.token));
  for (const [i, w] of writes.entries()) {
    if (confirmed.has(w.token) && !w.accepted) violations.push(`write ${i}: the confirmed holder of token ${w.token} was refused (another holder with a newer token wrote during its section)`);
  }
  return { violations, sections: sections.length, writes: writes.length };
}
