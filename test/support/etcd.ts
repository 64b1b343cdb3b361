/**
 * Real etcd for tests: one member or a 3-member cluster on free loopback ports with temporary
 * data directories. Readiness is polled with a bounded number of Status calls (never a fixed
 * sleep). `stop()` kills every member and removes the data; call it in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/client/index.js';
import { freePorts } from './ports.js';
import { ManagedProcess } from './process.js';

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly endpoint: string;
  readonly process: ManagedProcess;
}

export interface EtcdCluster {
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  stop(): Promise<void>;
}

let sequence = 0;

export async function startEtcd(options: { members?: number; readyTimeoutMs?: number; /** Extra etcd flags (e.g. --auth-token-ttl). */ args?: readonly string[] } = {}): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const ports = await freePorts(count * 2);
  const token = `conclave-test-${process.pid}-${sequence++}`;
  const names = Array.from({ length: count }, (_, i) => `${token}-m${i}`);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
  const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
  const dataDirs: string[] = [];
  const members: EtcdMember[] = names.map((name, i) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'conclave-etcd-'));
    dataDirs.push(dataDir);
    const clientUrl = `http://127.0.0.1:${ports[i * 2]}`;
    const args = [
      '--name', name, '--data-dir', dataDir,
      '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrls[i]!, '--initial-advertise-peer-urls', peerUrls[i]!,
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      '--log-level', 'error', '--logger', 'zap', ...(options.args ?? []),
    ];
    return { name, clientUrl, endpoint: `127.0.0.1:${ports[i * 2]}`, process: new ManagedProcess('etcd', args) };
  });
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.endpoint),
    members,
    async stop() {
      await Promise.all(members.map((m) => m.process.kill()));
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitReady(cluster, options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    const logs = members.map((m) => `--- ${m.name}\n${m.process.log.slice(-2000)}`).join('\n');
    await cluster.stop();
    throw new Error(`etcd did not become ready: ${String(error)}\n${logs}`);
  }
  return cluster;
}

async function waitReady(cluster: EtcdCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const member of cluster.members) {
    const client = new Client({ endpoints: [member.endpoint], callTimeoutMs: 1_000, retry: { retries: 0 } });
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (!member.process.running) throw new Error(`${member.name} exited`);
        try {
          const status = await client.status({ timeoutMs: 1_000 });
          // A leader is known and a linearizable read goes through: the member serves requests.
          if (status.leader !== 0n) {
            await client.get('conclave-readiness-probe').timeout(1_000);
            break;
          }
        } catch {
          // not up yet
        }
        if (Date.now() > deadline) throw new Error(`${member.name} not ready after ${attempt + 1} probes`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      client.destroy();
    }
  }
}
