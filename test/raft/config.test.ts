// Every bound of the Raft configuration has a default and a validation error naming it.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import { MemoryStorage, RAFT_DEFAULTS, RaftConfigError, RawNode, resolveRaftConfig } from '../../src/raft/index.js';

const base = { id: 1n, storage: new MemoryStorage(), random: new SeededRandom(1) };

describe('raft config', () => {
  it('fills in documented defaults', () => {
    const resolved = resolveRaftConfig(base);
    expect(resolved).toMatchObject({ ...RAFT_DEFAULTS, applied: 0 });
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['id 0', { id: 0n }, /raft config id/],
    ['id as number', { id: 1 }, /raft config id/],
    ['electionTicks 0', { electionTicks: 0 }, /electionTicks/],
    ['heartbeatTicks not below electionTicks', { electionTicks: 5, heartbeatTicks: 5 }, /electionTicks: must be greater than heartbeatTicks/],
    ['maxMessageBytes 0', { maxMessageBytes: 0 }, /maxMessageBytes/],
    ['maxInflightMessages 0', { maxInflightMessages: 0 }, /maxInflightMessages/],
    ['maxInflightBytes below maxMessageBytes', { maxInflightBytes: 10, maxMessageBytes: 100 }, /maxInflightBytes/],
    ['maxUncommittedEntriesBytes negative', { maxUncommittedEntriesBytes: -1 }, /maxUncommittedEntriesBytes/],
    ['maxCommittedBytesPerReady fractional', { maxCommittedBytesPerReady: 1.5 }, /maxCommittedBytesPerReady/],
    ['maxPendingReadIndexRequests 0', { maxPendingReadIndexRequests: 0 }, /maxPendingReadIndexRequests/],
    ['applied negative', { applied: -1 }, /applied/],
  ];
  for (const [name, override, message] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => new RawNode({ ...base, ...override } as never)).toThrow(RaftConfigError);
      expect(() => resolveRaftConfig({ ...base, ...override } as never)).toThrow(message);
    });
  }
});
