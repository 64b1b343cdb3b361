/**
 * Raft core throughput: proposals committed per second through an in-memory 3-node group
 * (RawNode over MemoryStorage, messages delivered by hand, no I/O, no serialization). It
 * measures the consensus code alone, the ceiling for what the server can do on top of it.
 *
 * Rows: proposals in flight (1 = one at a time, each committed before the next; N = N
 * proposed per round, pipelined) and payload size.
 */
import { SeededRandom } from '../src/base/random.js';
import type { Message, NodeId } from '../src/raft/index.js';
import { MemoryStorage, RawNode, bootstrapState } from '../src/raft/index.js';

interface Group {
  nodes: Map<NodeId, { raw: RawNode; storage: MemoryStorage }>;
  applied: number;
}

function makeGroup(): Group {
  const ids = [1n, 2n, 3n];
  const nodes = new Map<NodeId, { raw: RawNode; storage: MemoryStorage }>();
  for (const id of ids) {
    const { snapshot, hardState } = bootstrapState(ids);
    const storage = new MemoryStorage(snapshot);
    storage.setHardState(hardState);
    nodes.set(id, { raw: new RawNode({ id, storage, random: new SeededRandom(Number(id)) }), storage });
  }
  return { nodes, applied: 0 };
}

/** Handles Readies and delivers messages until quiet; returns entries the leader applied. */
function pump(group: Group): void {
  for (;;) {
    const queue: Message[] = [];
    for (const [id, { raw, storage }] of group.nodes) {
      if (!raw.hasReady()) continue;
      const ready = raw.ready();
      if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
      storage.append(ready.entries);
      if (id === 1n) group.applied += ready.committedEntries.length;
      for (const m of ready.messages) queue.push(m);
      raw.advance();
    }
    if (queue.length === 0) return;
    for (const m of queue) group.nodes.get(m.to)!.raw.step(m);
  }
}

function measure(inFlight: number, payloadBytes: number, totalProposals: number): { opsPerSecond: number; ms: number } {
  const group = makeGroup();
  const leader = group.nodes.get(1n)!;
  leader.raw.campaign();
  pump(group);
  // Keep the log from growing without bound: compact every so often, as the server will.
  const payload = new Uint8Array(payloadBytes).fill(7);
  const start = performance.now();
  const target = group.applied + totalProposals;
  let proposed = 0;
  let rounds = 0;
  while (group.applied < target) {
    for (let i = 0; i < inFlight && proposed < totalProposals; i++, proposed++) leader.raw.propose(payload);
    pump(group);
    if (++rounds % 200 === 0) {
      for (const { storage, raw } of group.nodes.values()) {
        const applied = raw.raft.raftLog.applied;
        if (applied - 1000 > storage.firstIndex()) storage.compact(applied - 1000);
      }
    }
  }
  const ms = performance.now() - start;
  return { opsPerSecond: (totalProposals / ms) * 1000, ms };
}

const rows: Array<[number, number, number]> = [
  [1, 64, 20_000],
  [64, 64, 200_000],
  [256, 64, 400_000],
  [64, 1024, 200_000],
];
// Warm-up so the JIT has compiled the hot paths before anything is timed.
measure(64, 64, 50_000);
console.log('raft core, 3 nodes in memory (no I/O): proposals committed per second');
console.log('| in flight | payload bytes | proposals | seconds | commits/s |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const [inFlight, bytes, total] of rows) {
  const { opsPerSecond, ms } = measure(inFlight, bytes, total);
  console.log(`| ${inFlight} | ${bytes} | ${total} | ${(ms / 1000).toFixed(2)} | ${Math.round(opsPerSecond).toLocaleString('en-US')} |`);
}
