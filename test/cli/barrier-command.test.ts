// `conclave barrier` in-process (runCli with a captured io) against real etcd 3.4: wait blocks
// while a barrier stands and returns once it is released; hold refuses a standing barrier;
// `enter --count 2` runs neither command until both participants entered, and each run exits
// with its command's code. Plus the CLI's help and usage errors for the new commands.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { runCli } from '../../src/cli/run.js';
import type { CommandIo } from '../../src/cli/server-command.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { waitFor } from '../support/wait.js';

function captured(): CommandIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t), onStopSignal: () => () => {} };
  return io;
}

describe('conclave help and usage', () => {
  it('has --help for every command and exits 2 on usage errors', async () => {
    for (const argv of [['--help'], ['lock', '--help'], ['elect', '--help'], ['barrier', 'enter', '--help'], ['get', '--help'], ['dashboard', '--help'], ['services', 'list', '--help'], ['help', 'lock']]) {
      const io = captured();
      expect(await runCli(argv, io), argv.join(' ')).toBe(0);
      expect(io.stdout, argv.join(' ')).toMatch(/^Usage: conclave/);
    }
    const io = captured();
    expect(await runCli(['lock', '--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/--endpoints <host:port,...>/);
    expect(io.stdout).toMatch(/124 lock not acquired within --timeout; 125 lock lost/);
    const cases: Array<[string[], RegExp]> = [
      [['lock'], /missing required argument 'name'/],
      [['lock', 'x', '--ttl', '0'], /--ttl must be a positive integer/],
      [['barrier', 'enter', 'b'], /required option '--count <n>' not specified/],
      [['get', 'k', '-w', 'yaml'], /argument 'yaml' is invalid/],
      [['elect', 'e'], /give a value to campaign with, or --observe/],
      [['lokc'], /unknown command "lokc" \(Did you mean lock\?\)/],
    ];
    for (const [argv, message] of cases) {
      const bad = captured();
      expect(await runCli([...argv, '--endpoints', '127.0.0.1:1'], bad), argv.join(' ')).toBe(2);
      expect(bad.stderr, argv.join(' ')).toMatch(message);
    }
  });
});

const skip = missingBinaries('etcd');

describe.skipIf(skip !== undefined)('conclave barrier against real etcd 3.4', () => {
  let etcd: EtcdCluster;
  let client: Client;
  const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-barrier-'));
  const run = (io: CommandIo, ...argv: string[]): Promise<number> => runCli([...argv.slice(0, 3), '--endpoints', etcd.endpoints.join(','), ...argv.slice(3)], io);

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Client({ endpoints: etcd.endpoints });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hold, wait, release', async () => {
    expect(await run(captured(), 'barrier', 'hold', 'gate')).toBe(0);
    const refused = captured();
    expect(await run(refused, 'barrier', 'hold', 'gate')).toBe(1);
    expect(refused.stderr).toMatch(/already held \[ERR_BARRIER_HELD\]/);
    let waited = false;
    const waiting = run(captured(), 'barrier', 'wait', 'gate').then((code) => {
      waited = true;
      return code;
    });
    // The waiter is blocked while the key stands (its watch is open; nothing resolves it).
    await waitFor(async () => expect((await client.get('gate')).kvs).toHaveLength(1));
    expect(waited).toBe(false);
    expect(await run(captured(), 'barrier', 'release', 'gate')).toBe(0);
    expect(await waiting).toBe(0);
    expect(await run(captured(), 'barrier', 'wait', 'gate')).toBe(0);
  });

  it('enter --count 2 runs the commands only once both entered, and passes their exit codes', async () => {
    const file = join(dir, 'enter.log');
    const first = run(captured(), 'barrier', 'enter', 'batch', '--count', '2', '--', 'sh', '-c', `echo first >> ${file}; exit 3`);
    await waitFor(async () => expect((await client.get('batch/waiters/').prefix()).kvs).toHaveLength(1));
    expect(existsSync(file)).toBe(false);
    const second = run(captured(), 'barrier', 'enter', 'batch', '--count', '2', '--', 'sh', '-c', `echo second >> ${file}`);
    expect(await Promise.all([first, second])).toEqual([3, 0]);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['first', 'second']);
    expect((await client.get('batch/').prefix()).kvs).toHaveLength(0);
  });
});
