/**
 * The two servers the recipe tests run on side by side: one Conclave member in this process
 * (reached over gRPC on loopback) and one real etcd 3.4 member. Both on free ports with
 * temporary data directories; etcd is skipped locally (and fails under CI) when missing.
 */
import { conclaveSingleMember } from '../conformance/targets.js';
import type { ConformanceTarget } from '../conformance/targets.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';

export const etcdSingleMember: ConformanceTarget = {
  name: 'etcd 3.4, 1 member',
  unavailable: () => missingBinaries('etcd'),
  async start() {
    const cluster = await startEtcd();
    return { connection: { endpoints: cluster.endpoints }, members: 1, stop: () => cluster.stop() };
  },
};

export const sideBySide: readonly ConformanceTarget[] = [conclaveSingleMember, etcdSingleMember];
