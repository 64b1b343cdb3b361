import { InvalidOptionError } from '../base/errors.js';

/**
 * The faults between a test cluster's members, as one filter every member's peer transport
 * asks (MemberOptions.peerMessageFilter): directed cuts between member ids (partitions) and
 * paused members (nothing in or out). Changing it takes effect on the next message.
 */
export class FaultNetwork {
  /** `from:to` pairs (member ids in hex) whose traffic is dropped. */
  private readonly cuts = new Set<string>();
  private readonly paused = new Set<bigint>();

  /** The filter handed to every member. */
  readonly filter = (from: bigint, to: bigint): boolean =>
    !this.paused.has(from) && !this.paused.has(to) && !this.cuts.has(pair(from, to));

  /** Cuts all traffic between members of different groups (both directions); other cuts stay. */
  partition(groups: ReadonlyArray<readonly bigint[]>): void {
    const seen = new Set<bigint>();
    for (const group of groups) {
      for (const id of group) {
        if (seen.has(id)) throw new InvalidOptionError('partition', `member ${id.toString(16)} is in two groups`);
        seen.add(id);
      }
    }
    groups.forEach((group, i) => {
      groups.forEach((other, j) => {
        if (i === j) return;
        for (const from of group) for (const to of other) this.cuts.add(pair(from, to));
      });
    });
  }

  /** Removes every cut (paused members stay paused). */
  heal(): void {
    this.cuts.clear();
  }

  setPaused(id: bigint, paused: boolean): void {
    if (paused) this.paused.add(id);
    else this.paused.delete(id);
  }

  /** Whether traffic from `from` to `to` currently passes. */
  passes(from: bigint, to: bigint): boolean {
    return this.filter(from, to);
  }
}

function pair(from: bigint, to: bigint): string {
  return `${from.toString(16)}:${to.toString(16)}`;
}
