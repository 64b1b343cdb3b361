/**
 * The two systems under test, started the same way: N members as separate processes on free
 * loopback ports, each with a temporary data directory, with etcd's flag names (Conclave's
 * `conclave server` takes the same ones). etcd fsyncs its WAL by default; Conclave's storage
 * fdatasyncs every Ready. Readiness is a state (a leader known and a linearizable read served on
 * every member), polled with a bound, never a fixed sleep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_LOADER_ARGS, scriptPath } from './runtime.js';
import { Client } from '../../src/client/index.js';
import { freePorts } from '../../test/support/ports.js';
import { ManagedProcess } from '../../test/support/process.js';

export type SystemKind = 'conclave' | 'etcd';

export interface SystemOptions {
  readonly kind: SystemKind;
  readonly members: number;
  /** Conclave's backend engine. */
  readonly engine: 'memory' | 'lmdb';
  /** When set, Conclave members run under `node --cpu-prof` and write their profiles here on SIGTERM. */
  readonly profileDir?: string;
  readonly readyTimeoutMs?: number;
  /** Turn authentication on (simple tokens) with BENCH_USER, a user allowed to read and write every key. */
  readonly auth?: boolean;
}

export const BENCH_USER = { username: 'bench', password: 'bench-pw' };

export interface RunningSystem {
  readonly label: string;
  /** host:port of every member, in member order. */
  readonly endpoints: string[];
  /** Process ids of the server processes (for /proc/<pid>/stat). */
  readonly pids: number[];
  /** Stops every member: SIGTERM and a wait (so CPU profiles get written), then SIGKILL; removes the data. */
  stop(): Promise<void>;
  logs(): string;
  /** Members whose process has exited. */
  exited(): string[];
}

let sequence = 0;

export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const count = options.members;
  const ports = await freePorts(count * 2);
  const token = `bench-${process.pid}-${sequence++}`;
  const names = Array.from({ length: count }, (_, i) => `m${i}`);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
  const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
  const dataDirs: string[] = [];
  const processes = names.map((name, i) => {
    const dataDir = mkdtempSync(join(tmpdir(), `bench-${options.kind}-`));
    dataDirs.push(dataDir);
    const clientUrl = `http://127.0.0.1:${ports[i * 2]}`;
    const flags = [
      '--name', name, '--data-dir', dataDir,
      '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrls[i]!, '--initial-advertise-peer-urls', peerUrls[i]!,
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      '--log-level', 'error',
    ];
    if (options.kind === 'etcd') return new ManagedProcess('etcd', [...flags, '--logger', 'zap']);
    // One directory per member: node writes a profile per thread (tsx's loader runs in a
    // worker thread), named by pid and thread id; the main thread's is the largest.
    const nodeFlags = options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(options.profileDir, `${token}-${name}`)];
    return new ManagedProcess(process.execPath, [...nodeFlags, ...NODE_LOADER_ARGS, scriptPath(import.meta.url, '../../src/cli/main.ts'), 'server', ...flags, '--engine', options.engine]);
  });
  const endpoints = ports.filter((_, i) => i % 2 === 0).map((port) => `127.0.0.1:${port}`);
  const label = `${options.kind === 'etcd' ? `etcd ${count}m` : `conclave ${count}m (${options.engine})`}${options.auth === true ? ', auth on' : ''}`;
  const system: RunningSystem = {
    label,
    endpoints,
    pids: processes.map((p) => p.child.pid!),
    async stop() {
      await Promise.all(processes.map(async (p) => {
        p.signal('SIGTERM');
        const exited = await Promise.race([p.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
        if (!exited) await p.kill();
      }));
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
    logs: () => processes.map((p, i) => `--- ${names[i]}\n${p.log.slice(-3000)}`).join('\n'),
    exited: () => names.filter((_, i) => !processes[i]!.running),
  };
  try {
    await waitReady(endpoints, processes, options.readyTimeoutMs ?? 60_000);
    if (options.auth === true) await enableAuth(endpoints);
  } catch (error) {
    const logs = system.logs();
    await system.stop();
    throw new Error(`${label} did not become ready: ${String(error)}\n${logs}`);
  }
  return system;
}

async function waitReady(endpoints: readonly string[], processes: readonly ManagedProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const [i, endpoint] of endpoints.entries()) {
    const client = new Client({ endpoints: [endpoint], callTimeoutMs: 1_000, retry: { retries: 0 } });
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (!processes[i]!.running) throw new Error(`member ${i} exited`);
        try {
          const status = await client.status({ timeoutMs: 1_000 });
          if (status.leader !== 0n) {
            await client.get('bench-readiness-probe').timeout(1_000);
            break;
          }
        } catch {
          // not serving yet
        }
        if (Date.now() > deadline) throw new Error(`member ${i} not ready after ${attempt + 1} probes`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.destroy();
    }
  }
}

/** Root, and BENCH_USER with read-write on every key (a permission check, not root's bypass, on every call). */
async function enableAuth(endpoints: readonly string[]): Promise<void> {
  const admin = new Client({ endpoints: [...endpoints] });
  try {
    await admin.auth.userAdd('root', 'bench-root-pw');
    await admin.auth.userGrantRole('root', 'root');
    await admin.auth.roleAdd('bench');
    await admin.auth.roleGrantPermission('bench', { type: 'readwrite', fromKey: '\0' });
    await admin.auth.userAdd(BENCH_USER.username, BENCH_USER.password);
    await admin.auth.userGrantRole(BENCH_USER.username, 'bench');
    await admin.auth.enable();
  } finally {
    admin.destroy();
  }
}
