/**
 * `conclave server` processes (the real command through tsx) forming one cluster on free
 * loopback ports with temporary data dirs, for tests that need real member processes with
 * extra flags (auth token options, snapshot counts) and kill -9 / restart of one member.
 * Readiness is a bounded poll of a serializable Status-like read, never a fixed sleep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/client/index.js';
import { freePorts } from './ports.js';
import { ManagedProcess } from './process.js';

export interface ConclaveProcessCluster {
  readonly endpoints: string[];
  readonly processes: ManagedProcess[];
  /** kill -9 member `index` (its data dir is kept). */
  kill(index: number): Promise<void>;
  /** Starts member `index` again on its data dir and waits until it serves reads. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

let sequence = 0;

export async function startConclaveProcesses(options: { members?: number; args?: readonly string[]; readyTimeoutMs?: number } = {}): Promise<ConclaveProcessCluster> {
  const count = options.members ?? 3;
  const ports = await freePorts(count * 2);
  const token = `conclave-procs-${process.pid}-${sequence++}`;
  const names = Array.from({ length: count }, (_, i) => `p${i}`);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
  const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const dataDirs = names.map(() => mkdtempSync(join(tmpdir(), 'conclave-procs-')));
  const endpoints = names.map((_, i) => `127.0.0.1:${ports[i * 2]}`);
  const spawnMember = (i: number): ManagedProcess => new ManagedProcess(process.execPath, [
    '--import', 'tsx', main, 'server', '--name', names[i]!, '--data-dir', dataDirs[i]!, '--log-level', 'error',
    '--listen-client-urls', `http://127.0.0.1:${ports[i * 2]}`, '--listen-peer-urls', peerUrls[i]!,
    '--initial-cluster', initialCluster, '--initial-cluster-token', token, ...(options.args ?? []),
  ]);
  const processes = names.map((_, i) => spawnMember(i));
  const waitReady = async (index: number): Promise<void> => {
    const probe = new Client({ endpoints: [endpoints[index]!], retry: { retries: 0 } });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    try {
      for (;;) {
        if (!processes[index]!.running) throw new Error(`member ${index} exited: ${processes[index]!.log}`);
        const status = await probe.status({ timeoutMs: 1_000 }).catch(() => undefined);
        if (status !== undefined && status.leader !== 0n) return;
        if (Date.now() > deadline) throw new Error(`member ${index} not ready: ${processes[index]!.log}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      probe.destroy();
    }
  };
  const cluster: ConclaveProcessCluster = {
    endpoints,
    processes,
    async kill(index) {
      await processes[index]!.kill();
    },
    async restart(index) {
      processes[index] = spawnMember(index);
      await waitReady(index);
    },
    async stop() {
      await Promise.all(processes.map((p) => p.kill()));
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < count; i += 1) await waitReady(i);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
