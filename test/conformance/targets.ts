/**
 * Conformance targets: factories that start a cluster speaking the etcd v3 API and say how to
 * reach and hurt it. The suite (suite.ts) runs unchanged against each one: real etcd 3.4
 * (3 members) and a Conclave member started in this process. More targets (Conclave member
 * processes, embedded members reached without the network) plug in the same way: implement
 * ConformanceTarget and add a one-line test file.
 */
import type { ClientOptions } from '../../src/client/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/client/index.js';
import { startMember } from '../../src/server/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import { freePorts } from '../support/ports.js';
import { ManagedProcess } from '../support/process.js';

export interface RunningTarget {
  /**
   * How clients reach the cluster, member 0 first: network `endpoints` (`host:port`) and/or
   * `embedded` in-process members (an embedded Conclave target passes its members here).
   */
  readonly connection: Pick<ClientOptions, 'endpoints' | 'embedded' | 'auth'>;
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

/**
 * One Conclave member started in this process with `startMember`, reached over gRPC on
 * loopback. A single member has no elections, so the suite's results do not depend on how
 * busy the machine is; the failover block needs 3 members and is skipped.
 */
export const conclaveSingleMember: ConformanceTarget = {
  name: 'Conclave, 1 member in this process',
  unavailable: () => undefined,
  async start() {
    const [clientPort, peerPort] = await freePorts(2);
    const dataDir = mkdtempSync(join(tmpdir(), 'conclave-conformance-'));
    const running = await startMember({
      name: 'conformance', dataDir,
      listenClientUrls: [`http://127.0.0.1:${clientPort}`], listenPeerUrls: [`http://127.0.0.1:${peerPort}`],
    });
    // Readiness: the member knows a leader (itself), polled with a bound.
    for (let attempt = 0; running.status().leader === 0n; attempt += 1) {
      if (attempt > 400) throw new Error('the Conclave member elected no leader');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return {
      connection: { endpoints: running.clientUrls.map((url) => url.replace(/^https?:\/\//, '')) },
      members: 1,
      stop: async () => {
        await running.destroy();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * Three Conclave members embedded in this process (src/server's startMember), reached through
 * the SDK's in-process channel: calls go straight to the members' service handlers, with no
 * network or serialization. Member 0 first; killMember destroys one (its peers keep quorum).
 */
export const conclaveThreeEmbedded: ConformanceTarget = {
  name: 'Conclave, 3 embedded members',
  unavailable: () => undefined,
  async start() {
    const ports = await freePorts(6);
    const names = ['e0', 'e1', 'e2'];
    const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
    const dataDirs = names.map(() => mkdtempSync(join(tmpdir(), 'conclave-conformance-')));
    const members = await Promise.all(names.map((name, i) => startMember({
      name, dataDir: dataDirs[i]!, initialCluster, initialClusterToken: 'conformance-embedded',
      listenClientUrls: [`http://127.0.0.1:${ports[i * 2]}`], listenPeerUrls: [peerUrls[i]!],
    })));
    const alive = new Set(members.map((_, i) => i));
    const stop = async (): Promise<void> => {
      await Promise.all(members.map((m, i) => (alive.has(i) ? m.destroy() : undefined)));
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    };
    // Readiness: every member knows the same leader (bounded poll).
    for (let attempt = 0; ; attempt += 1) {
      const leaders = new Set(members.map((m) => m.status().leader));
      if (leaders.size === 1 && !leaders.has(0n)) break;
      if (attempt > 800) {
        await stop();
        throw new Error('the embedded members elected no common leader');
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return {
      connection: { embedded: members.map((m) => m.embedded()) },
      members: 3,
      killMember: async (index: number) => {
        alive.delete(index);
        await members[index]!.destroy();
      },
      stop,
    };
  },
};

/**
 * Three `conclave server` processes (the real command, run through tsx) forming one cluster
 * over loopback; ready once a linearizable read succeeds on every member.
 */
export const conclaveThreeProcesses: ConformanceTarget = {
  name: 'Conclave, 3 member processes',
  unavailable: () => undefined,
  async start() {
    const ports = await freePorts(6);
    const names = ['p0', 'p1', 'p2'];
    const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const dataDirs: string[] = [];
    const processes = names.map((name, i) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'conclave-conformance-'));
      dataDirs.push(dataDir);
      return new ManagedProcess(process.execPath, [
        '--import', 'tsx', main, 'server', '--name', name, '--data-dir', dataDir, '--log-level', 'error',
        '--listen-client-urls', `http://127.0.0.1:${ports[i * 2]}`, '--listen-peer-urls', peerUrls[i]!,
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'conformance',
      ]);
    });
    const endpoints = names.map((_, i) => `127.0.0.1:${ports[i * 2]}`);
    const stop = async (): Promise<void> => {
      await Promise.all(processes.map((p) => p.kill()));
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    };
    try {
      for (const endpoint of endpoints) {
        const probe = new Client({ endpoints: [endpoint], retry: { retries: 0 } });
        try {
          for (let attempt = 0; ; attempt += 1) {
            if (processes.some((p) => !p.running)) throw new Error(`a member exited: ${processes.map((p) => p.log).join('\n')}`);
            const ok = await probe.get('conformance-readiness').timeout(1_000).then(() => true, () => false);
            if (ok) break;
            if (attempt > 300) throw new Error(`member ${endpoint} not ready`);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } finally {
          probe.destroy();
        }
      }
    } catch (error) {
      await stop();
      throw error;
    }
    return {
      connection: { endpoints },
      members: 3,
      killMember: async (index: number) => {
        await processes[index]!.kill();
      },
      stop,
    };
  },
};
