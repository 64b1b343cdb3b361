// Each checker bites, in the suite: a short chaos run with a planted fault must be caught.
//   serializable reads      stale reads from an isolated member -> not linearizable
//   Mutex without the wait  two holders at once -> a confirmed holder's write refused
//   watch resume skew       a resume two revisions late -> a gap; the reference stays clean
//   (and a real one) etcd 3.4.23 answering progress requests ahead of pending events
//                           (etcd-io/etcd#15220) -> caught by the progress property
// CHAOS_BITE_SECONDS sets each run's length (default 25).
import { describe, expect, it } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { describeReport, runChaos } from './run.js';

const skip = missingBinaries('etcdctl');
const skipEtcd = missingBinaries('etcd', 'etcdctl');
const SECONDS = Number(process.env.CHAOS_BITE_SECONDS ?? 25);
const TIMEOUT_MS = (SECONDS + 240) * 1000;

describe.skipIf(skip !== undefined).sequential('chaos checkers bite on planted faults (Conclave)', () => {
  it('serializable reads during isolations are caught by the linearizability checker', async () => {
    const report = await runChaos({ system: 'conclave', members: 3, seconds: SECONDS, seed: 101, kinds: ['isolate'], plant: new Set(['serializable-reads']) });
    console.log(describeReport(report));
    expect(report.violations.join('\n')).toMatch(/registers: key .*not linearizable/);
  }, TIMEOUT_MS);

  it('a Mutex that does not wait for its predecessor is caught by the lock checker', async () => {
    const report = await runChaos({ system: 'conclave', members: 3, seconds: SECONDS, seed: 102, kinds: ['drop'], plant: new Set(['mutex-without-predecessor-wait']) });
    console.log(describeReport(report));
    expect(report.violations.join('\n')).toMatch(/locks: .*confirmed holder of token \d+ was refused/);
  }, TIMEOUT_MS);

  it('a watch that resumes from the wrong revision is caught by the watch checker', async () => {
    const report = await runChaos({ system: 'conclave', members: 3, seconds: SECONDS, seed: 103, kinds: ['watch-reconnect'], plant: new Set(['watch-resume-skew']) });
    console.log(describeReport(report));
    expect(report.violations.join('\n')).toMatch(/watcher \d .*not reliable \(a gap\)/);
    expect(report.violations.join('\n')).not.toMatch(/reference:|acknowledged put/);
  }, TIMEOUT_MS);
});

describe.skipIf(skipEtcd !== undefined)('chaos watch checker on real etcd 3.4.23', () => {
  it('catches etcd-io/etcd#15220: requested progress notifications ahead of events a resumed watcher has not received yet', async () => {
    const report = await runChaos({ system: 'etcd', members: 3, seconds: SECONDS, seed: 104, kinds: ['watch-reconnect'], plant: new Set(['etcd-progress-requests']) });
    console.log(describeReport(report));
    expect(report.violations.join('\n')).toMatch(/progress notification at \d+ was ahead/);
  }, TIMEOUT_MS);
});
