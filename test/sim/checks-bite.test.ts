// The simulator's checks must catch real bugs: each test switches on a deliberate bug in the
// Raft core (a test-only option) and asserts that the simulation reports the violation the
// bug causes, within a bounded number of seeds. It also checks that a seed replays exactly.
import { describe, expect, it } from 'vitest';
import { runSeeds } from './run-seeds.js';
import { runSimulation } from './simulation.js';

describe('the simulator catches deliberate bugs', () => {
  it('granting votes without the log up-to-date check (section 5.4.1) loses committed entries', () => {
    const summary = runSeeds(1, 200, { voteWithoutLogCheck: true }, true);
    expect(summary.failures.length).toBe(1);
    expect(['Leader Completeness', 'State Machine Safety', 'Log Matching']).toContain(summary.failures[0]!.violation!.property);
  });

  it('answering ReadIndex without a quorum round (a deposed leader) serves stale reads', () => {
    const summary = runSeeds(1, 300, { readIndexWithoutQuorum: true }, true);
    expect(summary.failures.length).toBe(1);
    expect(summary.failures[0]!.violation!.property).toBe('Linearizable ReadIndex');
  });

  it('the same bug-free seeds pass (the bite comes from the bug, not from the seeds)', () => {
    expect(runSeeds(1, 20).failures).toEqual([]);
  });
});

describe('replay', () => {
  it('a seed replays exactly', () => {
    const a = runSimulation({ seed: 4242, trace: true });
    const b = runSimulation({ seed: 4242, trace: true });
    expect(b).toEqual(a);
    expect(a.trace.length).toBeGreaterThan(0);
  });
});
