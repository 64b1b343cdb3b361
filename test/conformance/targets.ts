/**
 * Conformance targets: factories that start a cluster speaking the etcd v3 API and say how to
 * reach and hurt it. The suite (suite.ts) runs unchanged against each one. Today: real etcd 3.4
 * (3 members). The Conclave server targets (embedded members, member processes) plug in here
 * once the server exists: implement ConformanceTarget and add a one-line test file.
 */
import type { ClientOptions } from '../../src/client/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';

export interface RunningTarget {
  /**
   * How clients reach the cluster, member 0 first: network `endpoints` (`host:port`) and/or
   * `embedded` in-process members (an embedded Conclave target passes its members here).
   */
  readonly connection: Pick<ClientOptions, 'endpoints' | 'embedded'>;
  /** Number of members (the failover block needs 3). */
  readonly members: number;
  /** Stops member `index` for good (the rest keep a quorum). Optional capability. */
  killMember?(index: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ConformanceTarget {
  readonly name: string;
  /** A reason to skip (locally) when something it needs is missing; throws under CI. */
  unavailable(): string | undefined;
  start(): Promise<RunningTarget>;
}

export const etcdThreeMembers: ConformanceTarget = {
  name: 'etcd 3.4, 3 members',
  unavailable: () => missingBinaries('etcd'),
  async start() {
    const cluster = await startEtcd({ members: 3 });
    return {
      connection: { endpoints: cluster.endpoints },
      members: cluster.members.length,
      killMember: async (index: number) => {
        await cluster.members[index]!.process.kill();
      },
      stop: () => cluster.stop(),
    };
  },
};
