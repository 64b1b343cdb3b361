// The quorum arithmetic is checked against an obviously-correct version: for random voter sets
// and acknowledged indexes, the committed index is the largest index acknowledged by a
// majority (computed by trying every candidate index), and a vote is won, lost or pending
// exactly as counting says. Joint configurations must satisfy both halves.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jointCommittedIndex, jointVoteResult, majorityCommittedIndex, majorityVoteResult } from '../../src/raft/quorum/majority.js';

const idsArb = fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 7 }).map((ids) => new Set(ids.map(BigInt)));
const ackedArb = fc.dictionary(fc.integer({ min: 1, max: 9 }).map(String), fc.integer({ min: 0, max: 20 }));

function naiveCommitted(voters: Set<bigint>, acked: Record<string, number>): number {
  if (voters.size === 0) return Infinity;
  let best = 0;
  for (let index = 0; index <= 20; index++) {
    const count = [...voters].filter((id) => (acked[String(id)] ?? 0) >= index).length;
    if (count > voters.size / 2) best = index;
  }
  return best;
}

describe('quorum arithmetic', () => {
  it('committed index equals the largest index a majority acknowledged', () => {
    fc.assert(fc.property(idsArb, ackedArb, (voters, acked) => {
      expect(majorityCommittedIndex(voters, (id) => acked[String(id)])).toBe(naiveCommitted(voters, acked));
    }), { numRuns: 3000 });
  });

  it('joint committed index is the smaller of both halves', () => {
    fc.assert(fc.property(idsArb, idsArb, ackedArb, (a, b, acked) => {
      const expected = Math.min(naiveCommitted(a, acked), naiveCommitted(b, acked));
      expect(jointCommittedIndex(a, b, (id) => acked[String(id)])).toBe(expected);
    }), { numRuns: 3000 });
  });

  it('vote results follow counting, and joint votes need both halves', () => {
    const votesArb = fc.dictionary(fc.integer({ min: 1, max: 9 }).map(String), fc.boolean());
    fc.assert(fc.property(idsArb, idsArb, votesArb, (a, b, votes) => {
      const map = new Map(Object.entries(votes).map(([id, v]) => [BigInt(id), v] as const));
      const naive = (ids: Set<bigint>): string => {
        if (ids.size === 0) return 'won';
        const yes = [...ids].filter((id) => map.get(id) === true).length;
        const missing = [...ids].filter((id) => !map.has(id)).length;
        if (yes > ids.size / 2) return 'won';
        // Lost: even if every voter yet to answer said yes, there would be no majority.
        if (yes + missing <= ids.size / 2) return 'lost';
        return 'pending';
      };
      expect(majorityVoteResult(a, map)).toBe(naive(a));
      const ra = naive(a);
      const rb = naive(b);
      const joint = ra === 'lost' || rb === 'lost' ? 'lost' : ra === 'won' && rb === 'won' ? 'won' : 'pending';
      expect(jointVoteResult(a, b, map)).toBe(joint);
    }), { numRuns: 3000 });
  });
});
