// The CI chaos pass on real etcd 3.4, the reference: the same harness and checkers; disk faults
// need Conclave's FileSystem hook, so etcd gets every other fault kind,
// all four workloads, every checker; 0 violations. Its own file so that vitest runs it beside
// the Conclave pass. CHAOS_SECONDS / CHAOS_SEED override the length and the seed.
import { describe, it } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { runChaos } from './run.js';
import { CHAOS_ENABLED, CHAOS_SECONDS, CHAOS_SEED, expectCleanPass, kindsFor } from './support.js';

const skip = missingBinaries('etcd', 'etcdctl');

describe.skipIf(skip !== undefined || !CHAOS_ENABLED)('chaos pass: real etcd 3.4', () => {
  it(`${CHAOS_SECONDS} s of faults on 5 etcd processes, seed ${CHAOS_SEED}: no violation`, async () => {
    const report = await runChaos({ system: 'etcd', seconds: CHAOS_SECONDS, seed: CHAOS_SEED, kinds: kindsFor('etcd') });
    expectCleanPass(report);
  }, (CHAOS_SECONDS + 300) * 1000);
});
