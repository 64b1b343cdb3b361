/**
 * Conformance targets with authentication on: the same clusters as targets.ts, started with a
 * short simple-token TTL (--auth-token-ttl 2, so tokens lapse between a test's calls and the
 * client must log in again), a root user, and the suite's user `conformance-app` whose only
 * permission is read-write on the suite's namespaces (`conformance-*`). The suite's clients
 * log in as that user.
 */
import { Client } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startConclaveProcesses } from '../support/conclave-processes.js';
import { startEtcd } from '../support/etcd.js';
import type { ConformanceTarget, RunningTarget } from './targets.js';

const TTL_ARGS = ['--auth-token-ttl', '2'];
export const SUITE_USER = { username: 'conformance-app', password: 'conformance-pw' };

async function enableAuth(endpoints: string[]): Promise<void> {
  const admin = new Client({ endpoints });
  try {
    await admin.auth.userAdd('root', 'root-pw');
    await admin.auth.userGrantRole('root', 'root');
    await admin.auth.roleAdd('conformance');
    await admin.auth.roleGrantPermission('conformance', { type: 'readwrite', prefix: 'conformance-' });
    await admin.auth.userAdd(SUITE_USER.username, SUITE_USER.password);
    await admin.auth.userGrantRole(SUITE_USER.username, 'conformance');
    await admin.auth.enable();
  } finally {
    admin.destroy();
  }
}

export const etcdThreeMembersWithAuth: ConformanceTarget = {
  name: 'etcd 3.4, 3 members, auth on',
  unavailable: () => missingBinaries('etcd'),
  async start(): Promise<RunningTarget> {
    const cluster = await startEtcd({ members: 3, args: TTL_ARGS });
    await enableAuth(cluster.endpoints);
    return {
      connection: { endpoints: cluster.endpoints, auth: SUITE_USER },
      members: cluster.members.length,
      killMember: async (index: number) => {
        await cluster.members[index]!.process.kill();
      },
      stop: () => cluster.stop(),
    };
  },
};

export const conclaveThreeProcessesWithAuth: ConformanceTarget = {
  name: 'Conclave, 3 member processes, auth on',
  unavailable: () => undefined,
  async start(): Promise<RunningTarget> {
    const cluster = await startConclaveProcesses({ args: [...TTL_ARGS, '--bcrypt-cost', '4'] });
    await enableAuth(cluster.endpoints);
    return {
      connection: { endpoints: cluster.endpoints, auth: SUITE_USER },
      members: 3,
      killMember: (index: number) => cluster.kill(index),
      stop: () => cluster.stop(),
    };
  },
};
