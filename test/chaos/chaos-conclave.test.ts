// The CI chaos pass on Conclave: five real `conclave server` processes (memory and lmdb
// engines mixed; churn flips a member's engine) behind fault proxies, every fault kind,
// all four workloads, every checker; 0 violations. Its own file so that vitest runs it beside
// the etcd pass. CHAOS_SECONDS / CHAOS_SEED override the length and the seed.
import { describe, it } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { runChaos } from './run.js';
import { CHAOS_ENABLED, CHAOS_SECONDS, CHAOS_SEED, expectCleanPass, kindsFor } from './support.js';

const skip = missingBinaries('etcdctl');

describe.skipIf(skip !== undefined || !CHAOS_ENABLED)('chaos pass: Conclave', () => {
  it(`${CHAOS_SECONDS} s of faults on 5 conclave processes, seed ${CHAOS_SEED}: no violation`, async () => {
    const report = await runChaos({ system: 'conclave', seconds: CHAOS_SECONDS, seed: CHAOS_SEED, kinds: kindsFor('conclave') });
    expectCleanPass(report);
  }, (CHAOS_SECONDS + 300) * 1000);
});
