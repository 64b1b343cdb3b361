// Interop with real clients nobody here wrote, against 3 `conclave server` processes (the
// real command, memory engine) started on loopback by test/integration/support/cluster.ts:
// first the differential scripts (same requests to a real etcd 3.4 started here and to the
// cluster, transcripts compared field by field; they need fresh servers, so they run first),
// then the etcd3 npm client, then the etcdctl 3.4 command list (KV, txn, watch, lease,
// compaction, lock, elect, endpoint status/health, alarm, defrag, snapshot, move-leader, and
// membership with a real learner process last). One cluster for the file keeps it within the
// CI budget. Every wait is for a state with a generous bound; nothing asserts a duration. At
// the end the summary (etcdctl commands that pass, differential comparisons) is printed.
// Fails under CI=true when etcd or etcdctl is missing; skips locally with the reason.
import { afterAll, beforeAll, describe } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { ConclaveCluster } from '../integration/support/cluster.js';
import { formatSummary } from './support/context.js';
import type { InteropContext, InteropSummary } from './support/context.js';
import { differentialChecks } from './support/differential-checks.js';
import { etcd3Checks } from './support/etcd3-checks.js';
import { etcdctlClusterChecks } from './support/etcdctl-cluster-checks.js';
import { etcdctlKvChecks } from './support/etcdctl-kv-checks.js';

const skip = missingBinaries('etcd', 'etcdctl');

describe.skipIf(skip !== undefined).sequential('real clients against a 3-member Conclave cluster of separate processes', () => {
  let cluster: ConclaveCluster | undefined;
  let etcd: EtcdCluster | undefined;
  const summary: InteropSummary = { etcdctl: [], etcd3: [], differentialEntries: 0, differentialScripts: 0 };
  const context = (): InteropContext => {
    if (cluster === undefined) throw new Error('the cluster did not start');
    return { cluster, etcd, summary };
  };

  beforeAll(async () => {
    const [conclave, real] = await Promise.allSettled([ConclaveCluster.start({ engine: 'memory' }), startEtcd({ readyTimeoutMs: 60_000 })]);
    if (conclave.status === 'fulfilled') cluster = conclave.value;
    if (real.status === 'fulfilled') etcd = real.value;
    if (conclave.status === 'rejected') throw conclave.reason;
    if (real.status === 'rejected') throw real.reason;
  }, 150_000);

  afterAll(async () => {
    console.log(formatSummary(summary));
    await Promise.all([cluster?.stop(), etcd?.stop()]);
  });

  describe('differential scripts: conclave vs etcd 3.4', () => differentialChecks(context));
  describe('etcd3 npm client', () => etcd3Checks(context));
  describe('etcdctl 3.4: key-value, txn, watch, lease, compaction', () => etcdctlKvChecks(context));
  describe('etcdctl 3.4: lock, elect, maintenance, move-leader, membership', () => etcdctlClusterChecks(context));
});
