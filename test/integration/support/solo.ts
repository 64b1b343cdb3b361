/**
 * One `conclave server` process on free loopback ports and a temporary data directory, for the
 * operability process tests: started with extra flags, waited on until etcdctl gets an answer,
 * killed and its directory removed by `cleanup()` (call it in afterAll).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdctl } from '../../support/etcdctl.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { ConclaveProcess } from './conclave-process.js';

export interface Solo {
  readonly process: ConclaveProcess;
  readonly endpoint: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly name: string;
}

const processes: ConclaveProcess[] = [];
const dirs: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function spawnConclave(args: readonly string[]): ConclaveProcess {
  const p = new ConclaveProcess(args);
  processes.push(p);
  return p;
}

/** Starts a single-member cluster; `dataDir` reuses a directory (default: a fresh one). */
export async function startSolo(extra: readonly string[] = [], options: { dataDir?: string; name?: string; wait?: boolean; sameUrlsAs?: Solo } = {}): Promise<Solo> {
  // A restart on the same data keeps its URLs: the member is known to its cluster by its peer URL.
  const [clientPort, peerPort] = options.sameUrlsAs === undefined ? await freePorts(2) : [new URL(options.sameUrlsAs.clientUrl).port, new URL(options.sameUrlsAs.peerUrl).port];
  const name = options.name ?? 'solo';
  const dataDir = options.dataDir ?? join(tempDir('conclave-ops-'), 'data');
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const process = spawnConclave([
    'server', '--name', name, '--data-dir', dataDir,
    '--listen-client-urls', clientUrl, '--listen-peer-urls', peerUrl,
    '--initial-cluster', `${name}=${peerUrl}`, ...extra,
  ]);
  const solo = { process, endpoint: `127.0.0.1:${clientPort}`, clientUrl, peerUrl, dataDir, name };
  if (options.wait !== false) await waitServing(solo);
  return solo;
}

export async function waitServing(solo: { process: ConclaveProcess; endpoint: string }): Promise<void> {
  await waitFor(async () => {
    if (!solo.process.running) throw new Error(`conclave server exited: ${solo.process.log}`);
    await etcdctl([solo.endpoint], ['get', 'readiness-probe']);
  }, { timeout: 60_000, interval: 200 });
}

export async function cleanup(): Promise<void> {
  await Promise.all(processes.splice(0).map((p) => p.kill()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
