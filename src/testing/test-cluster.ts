import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../base/abort.js';
import { systemClock } from '../base/clock.js';
import { ConclaveError, InvalidOptionError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { requireInteger } from '../base/validate.js';
import { Client } from '../index.js';
import type { ClientOptions } from '../index.js';
import type { MemberOptions } from '../server/index.js';
import { FaultNetwork } from './fault-network.js';
import { freeLoopbackPorts } from './free-ports.js';
import { PausableClock } from './pausable-clock.js';
import { TestMember } from './test-member.js';

/** Member options a test may set for every member (the cluster chooses names, dirs and URLs). */
export type TestMemberOptions = Partial<Omit<MemberOptions,
  'name' | 'dataDir' | 'listenClientUrls' | 'advertiseClientUrls' | 'listenPeerUrls' | 'initialAdvertisePeerUrls' |
  'initialCluster' | 'initialClusterState' | 'initialClusterToken' | 'clock' | 'peerMessageFilter'>>;

export interface TestClusterOptions {
  /** Number of members, 1 to 7. Default 3. */
  readonly members?: number;
  /** A directory for the members' data; default a new temporary one, removed by close(). */
  readonly dataDir?: string;
  /** Raft timing; defaults as etcd's (100 ms heartbeat, 1000 ms election timeout). */
  readonly heartbeatIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  /** How long start-up may take before createTestCluster fails. Default 60000 (loaded CI machines). */
  readonly startTimeoutMs?: number;
  /** Other member options (engine, snapshotCount, quotaBackendBytes, ...), for every member. */
  readonly member?: TestMemberOptions;
  readonly logger?: Logger;
  /**
   * Turn authentication on once the cluster runs: a `root` user with this password and the
   * root role is created and auth enabled. Then log in with
   * `cluster.client({ auth: { username: 'root', password } })` and add users and roles with
   * its `auth` calls; a client without `auth` is refused ("user name is empty").
   */
  readonly auth?: { readonly rootPassword: string };
}

export interface TestClientOptions extends Omit<ClientOptions, 'embedded' | 'endpoints'> {
  /** Indexes of the members this client may use (default all): pin a client to one side of a partition. */
  readonly members?: readonly number[];
}

export interface WaitOptions {
  /** Default 30000. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const POLL_MS = 25;
let sequence = 0;

/**
 * An in-process Conclave cluster for tests, with fault injection:
 * - `partition([0], [1, 2])`, `isolate(i)`, `heal()`: cut peer traffic between members;
 * - `pause(i)` / `resume(i)` / `pauseFor(i, ms)`: a member stops ticking and exchanging
 *   messages, as a process stopped with SIGSTOP (its clients wait or fail over);
 * - `kill(i)` / `restart(i)`: stop at once, start again on the same data dir and ports;
 * - `expireLease(id)`: end a lease now, as if its TTL had passed (revoked through raft);
 * - `client()`: an SDK Client reaching members in-process, across kills and restarts.
 * Members talk over real loopback gRPC (peer traffic is what partitions cut); clients do
 * not use the network. `close()` stops everything and removes temporary data.
 */
export class TestCluster {
  private readonly clients = new Set<Client>();
  private adminClient: Client | undefined;
  private closed = false;

  private constructor(
    readonly members: readonly TestMember[],
    private readonly network: FaultNetwork,
    private readonly ownedDataDir: string | undefined,
    /** Default per-call limit of this cluster's clients (see client()). */
    private readonly callTimeoutMs: number,
  ) {}

  /** @internal use createTestCluster. */
  static async create(options: TestClusterOptions): Promise<TestCluster> {
    const count = requireInteger('members', options.members ?? 3, 1, 7);
    const startTimeoutMs = requireInteger('startTimeoutMs', options.startTimeoutMs ?? 60_000, 1);
    if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) throw new InvalidOptionError('dataDir', 'must be a non-empty path');
    const ownedDataDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'conclave-test-cluster-')) : undefined;
    const root = options.dataDir ?? ownedDataDir!;
    await mkdir(root, { recursive: true });
    const ports = await freeLoopbackPorts(count * 2);
    const names = Array.from({ length: count }, (_, i) => `m${i}`);
    const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[i * 2 + 1]}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
    const token = `conclave-test-${process.pid}-${sequence++}`;
    const network = new FaultNetwork();
    const clocks = names.map(() => new PausableClock(systemClock));
    const members = names.map((name, i) => new TestMember(i, {
      ...options.member,
      name,
      dataDir: join(root, name),
      listenClientUrls: [`http://127.0.0.1:${ports[i * 2]}`],
      listenPeerUrls: [peerUrls[i]!],
      initialCluster,
      initialClusterToken: token,
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.electionTimeoutMs === undefined ? {} : { electionTimeoutMs: options.electionTimeoutMs }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      clock: clocks[i]!,
      peerMessageFilter: network.filter,
    }, clocks[i]!));
    // A member gives up on a request after 5 s plus two election timeouts (etcd's rule), e.g. a
    // proposal forwarded to a leader that was just killed; the client's limit is longer, so a
    // request the member abandons that way is retried within the same call (reads only).
    const electionTimeoutMs = options.electionTimeoutMs ?? 1000;
    const cluster = new TestCluster(members, network, ownedDataDir, 5_000 + 2 * electionTimeoutMs + 5_000);
    try {
      const started = await Promise.allSettled(members.map((m) => m.start()));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      await cluster.waitForLeader({ timeoutMs: startTimeoutMs });
      if (options.auth !== undefined) await cluster.enableAuth(options.auth.rootPassword);
    } catch (error) {
      await cluster.close();
      throw new ConclaveError('ERR_TEST_CLUSTER_START', `the test cluster did not start: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    return cluster;
  }

  private async enableAuth(rootPassword: string): Promise<void> {
    if (typeof rootPassword !== 'string' || rootPassword === '') throw new InvalidOptionError('auth.rootPassword', 'must be a non-empty string');
    const admin = this.client();
    try {
      await admin.auth.userAdd('root', rootPassword);
      await admin.auth.userGrantRole('root', 'root');
      await admin.auth.enable();
    } finally {
      await admin.close();
    }
  }

  private member(index: number): TestMember {
    const member = this.members[index];
    if (!Number.isInteger(index) || member === undefined) throw new InvalidOptionError('member', `no member ${index} (the cluster has ${this.members.length})`);
    return member;
  }

  private ids(indexes: readonly number[]): bigint[] {
    return indexes.map((i) => this.member(i).memberId);
  }

  /**
   * An SDK client over the members (all, or `members`), in-process; closed by close(). Its
   * default call limit is 5 s longer than a member's request timeout (12 s with the default
   * election timeout), so a request a member abandons during a failover is retried.
   */
  client(options: TestClientOptions = {}): Client {
    this.assertOpen();
    const { members = this.members.map((m) => m.index), ...clientOptions } = options;
    if (members.length === 0) throw new InvalidOptionError('members', 'needs at least one member');
    const client = new Client({ callTimeoutMs: this.callTimeoutMs, ...clientOptions, embedded: members.map((i) => this.member(i).embedded) });
    this.clients.add(client);
    client.onClose(async () => {
      this.clients.delete(client);
    });
    return client;
  }

  /**
   * The member a quorum of running, unpaused members follows and which leads itself, or
   * undefined during an election (or when no quorum can talk).
   */
  leader(): TestMember | undefined {
    const live = this.members.filter((m) => m.isRunning && !m.isPaused);
    const quorum = Math.floor(this.members.length / 2) + 1;
    for (const candidate of live) {
      if (candidate.status().leader !== candidate.memberId) continue;
      const followers = live.filter((m) => m.status().leader === candidate.memberId).length;
      if (followers >= quorum) return candidate;
    }
    return undefined;
  }

  /** Waits until leader() answers (polled; never a fixed sleep). */
  async waitForLeader(options: WaitOptions = {}): Promise<TestMember> {
    const deadline = systemClock.nowMs() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const leader = this.leader();
      if (leader !== undefined) return leader;
      if (systemClock.nowMs() > deadline) throw new ConclaveError('ERR_NO_LEADER', `no leader after ${options.timeoutMs ?? 30_000} ms`);
      await sleep(systemClock, POLL_MS, options.signal);
    }
  }

  /** Cuts peer traffic between the groups (both ways); members named in no group form one more group. */
  partition(...groups: ReadonlyArray<readonly number[]>): void {
    this.assertOpen();
    const named = new Set(groups.flat());
    const rest = this.members.map((m) => m.index).filter((i) => !named.has(i));
    this.network.partition([...groups, ...(rest.length > 0 ? [rest] : [])].map((g) => this.ids(g)));
  }

  /** Cuts member `index` off from every other member. */
  isolate(index: number): void {
    this.partition([index]);
  }

  /** Removes every partition. */
  heal(): void {
    this.network.heal();
  }

  /** Stops member `index` ticking and exchanging messages until resume(index). */
  pause(index: number): void {
    this.assertOpen();
    const member = this.member(index);
    this.network.setPaused(member.memberId, true);
    member.pause();
  }

  resume(index: number): void {
    const member = this.member(index);
    this.network.setPaused(member.memberId, false);
    member.resume();
  }

  /** pause(index), then resume(index) after `durationMs` (real time) or when `signal` aborts. */
  async pauseFor(index: number, durationMs: number, signal?: AbortSignal): Promise<void> {
    requireInteger('durationMs', durationMs, 0);
    this.pause(index);
    try {
      await sleep(systemClock, durationMs, signal);
    } finally {
      this.resume(index);
    }
  }

  /** Stops member `index` at once (like kill -9): no leadership hand-off, nothing drained. */
  async kill(index: number): Promise<void> {
    this.assertOpen();
    await this.member(index).kill();
  }

  /** Starts a killed member again on the same data dir and ports; resolves once it runs. */
  async restart(index: number): Promise<void> {
    this.assertOpen();
    const member = this.member(index);
    member.resume();
    this.network.setPaused(member.memberId, false);
    await member.start();
  }

  /**
   * Ends lease `leaseId` now, as if its TTL had passed: revoked through raft, so its keys
   * are deleted at one revision on every member (what the leader's lessor does on expiry).
   */
  async expireLease(leaseId: bigint, options: WaitOptions = {}): Promise<void> {
    this.assertOpen();
    this.adminClient ??= this.client();
    await this.adminClient.leaseRevoke(leaseId, {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** Destroys every client, heals and resumes, stops every member, removes temporary data. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const client of [...this.clients]) client.destroy();
    this.clients.clear();
    this.network.heal();
    for (const member of this.members) {
      this.network.setPaused(member.memberId, false);
      member.resume();
    }
    await Promise.all(this.members.map((m) => m.kill()));
    if (this.ownedDataDir !== undefined) rmSync(this.ownedDataDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ConclaveError('ERR_TEST_CLUSTER_CLOSED', 'the test cluster is closed');
  }
}

/** Starts an in-process cluster of `members` Conclave members for tests (see TestCluster). */
export function createTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  return TestCluster.create(options);
}
