// `conclave server` as a real process, as a user runs it: --help and a bad flag (exit codes
// 0 and 2); a single member configured by a JSON --config-file serving etcdctl, stopping on
// SIGTERM with exit code 0, and restarting on its data with every write intact; and a WAL
// damaged in the middle (not a torn tail) making the restart refuse with exit code 70.
// Waits are for states (a served read, a process exit), never for durations.
import { mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync, closeSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../support/binaries.js';
import { etcdctl } from '../support/etcdctl.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { ConclaveProcess } from './support/conclave-process.js';

const skip = missingBinaries('etcdctl');
const processes: ConclaveProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): ConclaveProcess {
  const p = new ConclaveProcess(args);
  processes.push(p);
  return p;
}

async function waitServing(p: ConclaveProcess, endpoint: string): Promise<void> {
  await waitFor(async () => {
    if (!p.running) throw new Error(`conclave server exited: ${p.log}`);
    await etcdctl([endpoint], ['get', 'readiness-probe']);
  }, { timeout: 60_000, interval: 200 });
}

describe.skipIf(skip !== undefined)('conclave server, a real process', () => {
  it('prints its help with exit code 0 and refuses an unknown flag with exit code 2', async () => {
    const help = run(['server', '--help']);
    const bad = run(['server', '--snapshot-cuont', '5']);
    expect((await help.exited).code).toBe(0);
    expect(help.log).toMatch(/--listen-client-urls <urls>/);
    expect((await bad.exited).code).toBe(2);
    expect(bad.log).toMatch(/unknown flag --snapshot-cuont \(did you mean --snapshot-count\?\)/);
  }, 60_000);

  it('runs from a JSON config file, stops on SIGTERM with 0, restarts with its writes, and refuses a damaged WAL with 70', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-'));
    dirs.push(dir);
    const [clientPort, peerPort] = await freePorts(2);
    const endpoint = `127.0.0.1:${clientPort}`;
    const config = join(dir, 'conclave.json');
    writeFileSync(config, JSON.stringify({
      name: 'solo', 'data-dir': join(dir, 'data'), engine: 'memory', 'snapshot-count': 1000,
      'listen-client-urls': [`http://${endpoint}`], 'listen-peer-urls': `http://127.0.0.1:${peerPort}`,
    }));
    let server = run(['server', '--config-file', config, '--initial-cluster-token', 'from-the-command-line']);
    await waitServing(server, endpoint);
    for (let i = 0; i < 20; i++) await etcdctl([endpoint], ['put', `cli/k${i}`, `v${i}`]);
    expect(await etcdctl([endpoint], ['member', 'list'])).toMatch(/, started, solo, /);
    server.signal('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.log).toMatch(/info {2}stopped\n/);

    server = run(['server', '--config-file', config]);
    await waitServing(server, endpoint);
    expect(await etcdctl([endpoint], ['get', 'cli/', '--prefix', '--keys-only'])).toContain('cli/k19');
    expect(await etcdctl([endpoint], ['get', 'cli/k7', '--print-value-only'])).toBe('v7\n');
    server.signal('SIGINT');
    expect((await server.exited).code).toBe(0);

    // Flip one byte inside the first record: valid records follow it, so this is damage, not
    // a torn tail the WAL may cut off.
    const walDir = join(dir, 'data', 'member', 'wal');
    const segment = join(walDir, readdirSync(walDir).filter((f) => f.endsWith('.wal')).sort()[0]!);
    const fd = openSync(segment, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 40);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, 40);
    closeSync(fd);
    server = run(['server', '--config-file', config]);
    expect((await server.exited).code).toBe(70);
    expect(server.log).toMatch(/could not start error="ERR_WAL_CORRUPT/);
  }, 120_000);
});
