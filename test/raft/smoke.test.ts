// A first end-to-end check: three nodes elect a leader and commit a proposal everywhere,
// delivering every message synchronously until nothing is left to do.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/raft/index.js';
import { HarnessNode } from './support/harness-node.js';

describe('raft smoke', () => {
  it('elects a leader and replicates a proposal to all three nodes', () => {
    const ids = [1n, 2n, 3n];
    const nodes = new Map(ids.map((id) => [id, HarnessNode.bootstrap(id, ids, [], {}, Number(id))]));
    const queue: Message[] = [];
    const stabilize = () => {
      for (let round = 0; round < 100; round++) {
        let progressed = false;
        for (const node of nodes.values()) {
          if (node.rawNode.hasReady()) {
            queue.push(...node.handleReady().messages);
            progressed = true;
          }
        }
        while (queue.length > 0) {
          const m = queue.shift()!;
          nodes.get(m.to)!.step(m);
          progressed = true;
        }
        if (!progressed) return;
      }
      throw new Error('did not stabilize');
    };
    nodes.get(1n)!.rawNode.campaign();
    stabilize();
    expect(nodes.get(1n)!.rawNode.status().softState.role).toBe('leader');
    nodes.get(1n)!.rawNode.propose(new TextEncoder().encode('hello'));
    stabilize();
    const digests = [...nodes.values()].map((n) => [n.appliedIndex, n.digest]);
    expect(digests[0]![0]).toBe(3);
    expect(new Set(digests.map((d) => d.join(':'))).size).toBe(1);
  });
});
