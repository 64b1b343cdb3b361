// The `conclave server` command in-process: flag parsing (etcd's names, both dash forms,
// near-miss suggestions, refused unsupported TLS flags), the JSON config file with the command line over
// it, the log line format, and the exit codes, with a fake member in place of startMember so
// that a fatal stop and a signal-driven stop can be staged deterministically.
import { describe, expect, it } from 'vitest';
import { deferred } from '../../src/base/deferred.js';
import { UsageError, parseFlags } from '../../src/cli/flags.js';
import { runCli } from '../../src/cli/run.js';
import type { CommandIo } from '../../src/cli/server-command.js';
import { runServer } from '../../src/cli/server-command.js';
import { REJECTED_SERVER_FLAGS, SERVER_FLAGS, readConfigFile, serverSettings } from '../../src/cli/server-flags.js';
import { StderrLogger } from '../../src/cli/stderr-logger.js';
import type { MemberOptions, RunningMember } from '../../src/server/index.js';

function io(): CommandIo & { stdout: string; stderr: string; signal(name: NodeJS.Signals): void } {
  const handlers: Array<(s: NodeJS.Signals) => void> = [];
  const self = {
    stdout: '',
    stderr: '',
    out: (text: string) => void (self.stdout += text),
    err: (text: string) => void (self.stderr += text),
    onStopSignal: (handler: (s: NodeJS.Signals) => void) => {
      handlers.push(handler);
      return () => void handlers.splice(handlers.indexOf(handler), 1);
    },
    signal: (name: NodeJS.Signals) => {
      for (const h of [...handlers]) h(name);
    },
  };
  return self;
}

const parse = (argv: string[]) => parseFlags(argv, SERVER_FLAGS, REJECTED_SERVER_FLAGS);

describe('conclave server flags', () => {
  it('accepts --flag value, --flag=value and -flag value, the last occurrence winning', () => {
    const { values } = parse(['--name', 'a', '-data-dir=/tmp/x', '--snapshot-count', '5', '--snapshot-count=7', '--help']);
    expect(Object.fromEntries(values)).toEqual({ name: 'a', 'data-dir': '/tmp/x', 'snapshot-count': '7', help: true });
  });

  it('rejects unknown flags with a suggestion, missing values, and unsupported TLS flags with the reason', () => {
    expect(() => parse(['--snapshot-cuont', '5'])).toThrow(/unknown flag --snapshot-cuont \(did you mean --snapshot-count\?\)/);
    expect(() => parse(['--name'])).toThrow(/--name needs a value/);
    expect(() => parse(['--name', '--data-dir', 'x'])).toThrow(/--name needs a value/);
    expect(() => parse(['--auto-tls'])).toThrow(/--auto-tls: not supported by conclave server; give certificates with --cert-file/);
    expect(() => parse(['--help=maybe'])).toThrow(UsageError);
  });

  it('converts flag text into member options with etcd defaults', () => {
    const { options, logLevel } = serverSettings(new Map([
      ['name', 'm1'], ['listen-client-urls', 'http://127.0.0.1:1,http://127.0.0.1:2'], ['heartbeat-interval', '50'],
      ['election-timeout', '500'], ['auto-compaction-retention', '2h'], ['engine', 'lmdb'], ['log-level', 'warn'],
    ]));
    expect(options).toMatchObject({ name: 'm1', dataDir: 'm1.etcd', listenClientUrls: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], heartbeatIntervalMs: 50, electionTimeoutMs: 500, autoCompactionRetentionHours: 2, engine: 'lmdb' });
    expect(logLevel).toBe('warn');
    // The chaos suite's learners catch up from a snapshot sooner with fewer catch-up entries (etcd 3.5's flag).
    expect(serverSettings(new Map([['experimental-snapshot-catchup-entries', '200']])).options).toMatchObject({ snapshotCatchUpEntries: 200 });
    expect(serverSettings(new Map()).options.snapshotCatchUpEntries).toBeUndefined();
    expect(() => serverSettings(new Map([['snapshot-count', '1e3']]))).toThrow(/--snapshot-count must be a non-negative integer/);
    expect(() => serverSettings(new Map([['engine', 'rocksdb']]))).toThrow(/--engine must be one of memory, lmdb/);
    expect(() => serverSettings(new Map([['auto-compaction-retention', '5m']]))).toThrow(/whole number of hours/);
  });

  it('reads a JSON config file keyed by flag names, refusing unknown keys and YAML', () => {
    const file = (text: string) => () => text;
    const values = readConfigFile('c.json', file(JSON.stringify({ name: 'n', '--snapshot-count': 100, 'listen-client-urls': ['http://127.0.0.1:1', 'http://127.0.0.1:2'] })));
    expect(Object.fromEntries(values)).toEqual({ name: 'n', 'snapshot-count': '100', 'listen-client-urls': 'http://127.0.0.1:1,http://127.0.0.1:2' });
    expect(() => readConfigFile('c.yaml', file('name: n\n'))).toThrow(/is not JSON .*YAML is not supported/);
    expect(() => readConfigFile('c.json', file('{"snapshot-cnt": 1}'))).toThrow(/key "snapshot-cnt" is not a setting/);
    expect(() => readConfigFile('c.json', file('{"peer-auto-tls": true}'))).toThrow(/key "peer-auto-tls": not supported by conclave server/);
    expect(() => readConfigFile('c.json', file('{"name": {"a": 1}}'))).toThrow(/must be a string, a number or an array of strings/);
    expect(() => readConfigFile('missing.json', () => {
      throw new Error('ENOENT');
    })).toThrow(/cannot read missing.json/);
  });
});

describe('the stderr logger', () => {
  it('writes one line per record with key=value fields, quoting values that need it', () => {
    const lines: string[] = [];
    const logger = new StderrLogger('info', (line) => lines.push(line), () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)));
    logger.debug('hidden');
    logger.info('member started', { name: 'm1', id: 255n, ok: true, skipped: undefined });
    logger.error('failed\nbadly', { error: Object.assign(new Error('disk on fire'), { code: 'ERR_X' }), detail: { a: 1n }, empty: '' });
    expect(lines).toEqual([
      '2026-01-02T03:04:05.006Z info  member started name=m1 id=255 ok=true\n',
      '2026-01-02T03:04:05.006Z error failed badly error="ERR_X: disk on fire" detail="{\\"a\\":\\"1\\"}" empty=""\n',
    ]);
  });
});

/** A stand-in for startMember's result: just what the command touches. */
function fakeRunning(options: { leader: boolean; voters: number }) {
  const stopped = deferred<void>();
  const calls: string[] = [];
  const member = {
    memberId: 1n,
    fatalError: undefined as unknown,
    leader: options.leader,
    isLeader() {
      return this.leader;
    },
    leaderId() {
      return this.leader ? 1n : 2n;
    },
    members: () => Array.from({ length: options.voters }, (_, i) => ({ id: BigInt(i + 1), isLearner: false })),
    async transferLeadershipAway() {
      calls.push('transfer');
      this.leader = false;
    },
    stoppedPromise: stopped.promise,
  };
  const running = {
    member,
    clientUrls: ['http://127.0.0.1:1'],
    peerUrls: ['http://127.0.0.1:2'],
    async close() {
      calls.push('close');
      stopped.resolve();
    },
    async destroy() {
      calls.push('destroy');
      stopped.resolve();
    },
  };
  return { running: running as unknown as RunningMember, member, stopped, calls };
}

describe('conclave server exit codes', () => {
  it('prints help (0), refuses bad flags and bad values (2), and names the flag', async () => {
    const help = io();
    expect(await runCli(['server', '--help'], help)).toBe(0);
    expect(help.stdout).toMatch(/--initial-cluster-state <new\|existing>/);
    const bad = io();
    expect(await runCli(['server', '--heartbeat-interval', '100', '--election-timeout', '200'], bad)).toBe(2);
    expect(bad.stderr).toMatch(/--election-timeout: must be at least 5 times --heartbeat-interval \(100\)/);
    const stray = io();
    expect(await runCli(['server', 'extra'], stray)).toBe(2);
    const unknown = io();
    expect(await runCli(['serve'], unknown)).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "serve"/);
  });

  it('on SIGTERM a leader hands leadership away, then closes, and the exit code is 0', async () => {
    const fake = fakeRunning({ leader: true, voters: 3 });
    let given: MemberOptions | undefined;
    const process = io();
    const code = runServer(['--name', 'x', '--data-dir', '/nonexistent'], process, async (options) => {
      given = options;
      return fake.running;
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    process.signal('SIGTERM');
    expect(await code).toBe(0);
    expect(fake.calls).toEqual(['transfer', 'close']);
    expect(given).toMatchObject({ name: 'x', dataDir: '/nonexistent' });
    expect(process.stderr).toMatch(/handed leadership away to=2\n/);
  });

  it('a member that stops on a fatal error makes the command exit 70', async () => {
    const fake = fakeRunning({ leader: false, voters: 1 });
    const process = io();
    const code = runServer(['--data-dir', '/nonexistent'], process, async () => fake.running);
    await new Promise((resolve) => setTimeout(resolve, 0));
    fake.member.fatalError = new Error('fdatasync failed');
    fake.stopped.resolve();
    expect(await code).toBe(70);
    expect(process.stderr).toMatch(/error member stopped on a fatal error error="fdatasync failed"/);
  });

  it('a second signal while stopping destroys the member at once', async () => {
    const fake = fakeRunning({ leader: true, voters: 3 });
    fake.member.transferLeadershipAway = () => new Promise<void>(() => undefined);
    const process = io();
    const code = runServer(['--data-dir', '/nonexistent'], process, async () => fake.running);
    await new Promise((resolve) => setTimeout(resolve, 0));
    process.signal('SIGINT');
    process.signal('SIGINT');
    expect(await code).toBe(1);
    expect(fake.calls).toEqual(['destroy']);
  });
});
