/**
 * The chaos cluster: real `conclave server` processes or real etcd 3.4 processes, the same
 * code for both, each member's peer traffic through a FaultProxy (see fault-proxy.ts).
 * Client ports are direct. Members can be killed (kill -9), paused (SIGSTOP/SIGCONT),
 * removed, wiped, re-added as learners and promoted (with etcdctl, for both systems).
 * Conclave members alternate between the memory and lmdb engines, so one run covers both.
 * Free loopback ports and temporary data dirs only; close() kills and removes everything.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPorts } from '../../src/testing/free-ports.js';
import { etcdctl } from '../support/etcdctl.js';
import { FaultProxy } from './fault-proxy.js';
import { Client } from '../../src/index.js';

export type SystemKind = 'conclave' | 'etcd';
export type Engine = 'memory' | 'lmdb';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// Interrupted (Ctrl-C, a timeout): the members go too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  });
}

/**
 * Frequent snapshots and few catch-up entries: a re-added learner (or a member back from a
 * kill) installs a snapshot and replays a few hundred entries rather than the whole log, so
 * a churn takes seconds, not the minute a full replay took; and snapshot install and restart
 * from a snapshot are exercised under the faults. (etcd 3.4 keeps its fixed 5,000 catch-up
 * entries; it replays them fast.)
 */
const SNAPSHOT_COUNT = 1000;
const SNAPSHOT_CATCHUP_ENTRIES = 200;

export interface ChaosClusterOptions {
  readonly system: SystemKind;
  readonly members: number;
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

export class ChaosMember {
  child: ChildProcess | undefined;
  paused = false;
  /** Removed from the cluster and not (yet) re-added. */
  removed = false;
  /** In the middle of a membership change: other faults leave it alone. */
  churning = false;
  /** Its member id (hex) as the cluster knows it; a re-added member gets a new one. */
  id: string | undefined;
  /** Added as a learner and not promoted yet. */
  learner = false;
  /** Ids it had before removals (a stale member list may still show them). */
  readonly formerIds = new Set<string>();
  engine: Engine;
  log = '';
  exited: Promise<void> = Promise.resolve();
  starts = 0;

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly proxy: FaultProxy,
    public dataDir: string,
    engine: Engine,
    /** Outside the data dir (which churn wipes): the disk-fault switch lives here. */
    readonly faultDir: string,
  ) {
    this.engine = engine;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** The advertised peer URL: the proxy in front of the member. */
  get peerUrl(): string {
    return `http://127.0.0.1:${this.proxy.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

export class ChaosCluster {
  readonly members: ChaosMember[] = [];
  private readonly token = `chaos-${process.pid}-${Date.now()}`;
  private readonly dirs: string[] = [];

  /** Where membership steps are logged (the run's --verbose log). */
  stepLog: (line: string) => void = () => undefined;

  private constructor(readonly options: ChaosClusterOptions) {}

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(options);
    try {
      const ports = await freeLoopbackPorts(3 * options.members);
      for (let i = 0; i < options.members; i++) {
        const name = `m${i}`;
        const proxy = new FaultProxy(name, () => cluster.members[i]!.peerPort, () => cluster.pids());
        await proxy.listen(ports[3 * i + 2]!);
        cluster.members.push(new ChaosMember(name, ports[3 * i]!, ports[3 * i + 1]!, proxy, cluster.newDir(), i % 2 === 0 ? 'memory' : 'lmdb', cluster.newDir()));
      }
      const initial = cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
      for (const m of cluster.members) cluster.spawn(m, 'new', initial);
      for (const m of cluster.members) await cluster.waitServing(m, 90_000);
      const ids = await cluster.memberIds();
      for (const m of cluster.members) m.id = ids.get(m.name)?.toString(16);
      return cluster;
    } catch (error) {
      const logs = cluster.logs();
      await cluster.close();
      throw new Error(`the ${options.system} cluster did not start: ${String(error)}\n${logs}`);
    }
  }

  private newDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-chaos-'));
    this.dirs.push(dir);
    return dir;
  }

  pids(): Map<number, string> {
    const pids = new Map<number, string>();
    for (const m of this.members) if (m.running && m.child!.pid !== undefined) pids.set(m.child!.pid, m.name);
    return pids;
  }

  endpoints(members: readonly ChaosMember[] = this.members): string[] {
    return members.map((m) => m.endpoint);
  }

  private initialState = new Map<string, { state: 'new' | 'existing'; cluster: string }>();

  private spawn(member: ChaosMember, state: 'new' | 'existing', initialCluster: string): void {
    this.initialState.set(member.name, { state, cluster: initialCluster });
    const { system, electionTimeoutMs, heartbeatIntervalMs } = this.options;
    const common = [
      '--name', member.name,
      '--data-dir', member.dataDir,
      '--listen-client-urls', `http://${member.endpoint}`,
      '--advertise-client-urls', `http://${member.endpoint}`,
      '--listen-peer-urls', `http://127.0.0.1:${member.peerPort}`,
      '--initial-advertise-peer-urls', member.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', this.token,
      '--heartbeat-interval', String(heartbeatIntervalMs),
      '--election-timeout', String(electionTimeoutMs),
      '--snapshot-count', String(SNAPSHOT_COUNT),
    ];
    const env = { ...process.env, CONCLAVE_TEST_DISK_FAULT_FILE: `${member.faultDir}/disk-fault` };
    const child = system === 'conclave'
      ? spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', ...common, '--engine', member.engine, '--experimental-snapshot-catchup-entries', String(SNAPSHOT_CATCHUP_ENTRIES), '--log-level', 'info'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env })
      // etcd's strict reconfiguration check also refuses a removal unless enough peers were
      // connected for the last 5 s (its HealthInterval), which the network lane never leaves
      // in place for long; the member-out permits keep the quorum here instead (see nemesis.ts).
      : spawn('etcd', [...common, '--strict-reconfig-check=false', '--logger', 'zap', '--log-outputs', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    member.child = child;
    member.paused = false;
    member.starts += 1;
    live.add(child);
    const keep = (chunk: Buffer): void => {
      member.log = (member.log + chunk.toString('utf8')).slice(-128 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    member.exited = new Promise((resolve) => child.once('exit', () => {
      live.delete(child);
      resolve();
    }));
  }

  /** Starts a stopped member again on its data, with the flags it first had. */
  restart(member: ChaosMember): void {
    if (member.running) return;
    const first = this.initialState.get(member.name)!;
    this.spawn(member, first.state, first.cluster);
  }

  async kill(member: ChaosMember): Promise<void> {
    if (!member.running) return;
    if (member.paused) member.child!.kill('SIGCONT');
    member.child!.kill('SIGKILL');
    await member.exited;
  }

  pause(member: ChaosMember): void {
    if (!member.running || member.paused) return;
    member.child!.kill('SIGSTOP');
    member.paused = true;
  }

  resume(member: ChaosMember): void {
    if (!member.paused) return;
    if (member.running) member.child!.kill('SIGCONT');
    member.paused = false;
  }

  /** The member the others follow, by a status call on each running member (undefined when none answers). */
  async leader(): Promise<ChaosMember | undefined> {
    for (const m of this.members.filter((x) => x.running && !x.paused && !x.removed)) {
      try {
        const status = await this.statusClient(m).status({ timeoutMs: 1500 });
        if (status.leader === 0n) continue;
        if (status.leader === status.header.memberId) return m;
        for (const other of this.members.filter((x) => x !== m && x.running && !x.paused)) {
          const theirs = await this.statusClient(other).status({ timeoutMs: 1500 }).catch(() => undefined);
          if (theirs?.header.memberId === status.leader) return other;
        }
      } catch {
        // try the next one
      }
    }
    return undefined;
  }

  private readonly statusClients = new Map<string, Client>();

  /** A client for one member alone (status calls answer for that member). */
  statusClient(member: ChaosMember): Client {
    let client = this.statusClients.get(member.name);
    if (client === undefined) {
      client = new Client({ endpoints: [member.endpoint], callTimeoutMs: 2000, retry: { retries: 0 } });
      this.statusClients.set(member.name, client);
    }
    return client;
  }

  /** Member ids by name (etcdctl member list). */
  async memberIds(): Promise<Map<string, bigint>> {
    const out = await etcdctl(this.endpoints(this.members.filter((m) => m.running && !m.paused)), ['member', 'list', '-w', 'json', '--command-timeout=3s']);
    const list = JSON.parse(out, (_k, v: unknown) => v) as { members?: Array<{ ID: number | string; name?: string; peerURLs?: string[] }> };
    const ids = new Map<string, bigint>();
    // JSON numbers lose precision on 64-bit ids: take the ids from the raw text instead.
    const rawIds = [...out.matchAll(/"ID":\s*(\d+)/g)].map((m) => BigInt(m[1]!));
    (list.members ?? []).forEach((m, i) => {
      const member = this.members.find((x) => m.peerURLs?.includes(x.peerUrl));
      if (member !== undefined && rawIds[i] !== undefined) ids.set(member.name, rawIds[i]);
    });
    return ids;
  }

  /**
   * Membership churn on one voter: member remove, wait for the process to stop (it stops once a
   * peer refuses it), wipe its data, member add --learner with the same peer URL, start it
   * with --initial-cluster-state existing, promote it once it caught up. Throws when a step is
   * refused (e.g. too few started members); the caller retries another time.
   */
  async churn(member: ChaosMember, signal: AbortSignal): Promise<void> {
    member.churning = true;
    try {
      await this.removeAndReadd(member, signal);
    } finally {
      member.churning = false;
    }
  }

  private async removeAndReadd(member: ChaosMember, signal: AbortSignal): Promise<void> {
    const others = (): string[] => this.endpoints(this.members.filter((m) => m !== member && m.running && !m.paused));
    if (member.id === undefined) throw new Error(`${member.name} has no known member id`);
    if (!member.learner) {
      const id = member.id;
      // Retried while the cluster elects a leader (faults of the other lanes go on meanwhile).
      await retry(signal, 20_000, 300, () => etcdctl(others(), ['member', 'remove', id, '--command-timeout=5s']).catch((error: unknown) => {
        // An earlier attempt went through but its answer was lost.
        if (!/member not found/.test(String(error))) throw error;
        return '';
      }));
      this.stepLog(`churn ${member.name}: removed`);
      member.removed = true;
      member.formerIds.add(member.id);
      member.id = undefined;
      // The removed member stops by itself once a peer refuses it (test/server/removal.test.ts
      // and the member-remove process test check that); here it only needs to be gone, so a
      // short grace and then kill -9 keeps the churn lane turning.
      await Promise.race([member.exited, sleep(300)]);
      await this.kill(member);
      if (this.options.system === 'conclave') member.engine = member.engine === 'memory' ? 'lmdb' : 'memory';
    }
    await this.addBack(member, signal);
  }

  /** Adds a removed member back as a learner on a wiped data dir, starts it, promotes it; or finishes a half-done re-add. */
  async readd(member: ChaosMember, signal: AbortSignal): Promise<void> {
    member.churning = true;
    try {
      await this.addBack(member, signal);
    } finally {
      member.churning = false;
    }
  }

  private async addBack(member: ChaosMember, signal: AbortSignal): Promise<void> {
    const others = (): string[] => this.endpoints(this.members.filter((m) => m !== member && m.running && !m.paused));
    if (member.removed) {
      await this.kill(member);
      rmSync(member.dataDir, { recursive: true, force: true });
      member.dataDir = this.newDir();
      // An add whose answer was lost went through: the member list then has our peer URL.
      const newId = await retry(signal, 30_000, 500, async () => {
        const known = (await this.memberIds()).get(member.name)?.toString(16);
        if (known !== undefined && !member.formerIds.has(known)) return known;
        const added = await etcdctl(others(), ['member', 'add', member.name, `--peer-urls=${member.peerUrl}`, '--learner', '--command-timeout=5s']).catch(async (error: unknown) => {
          // Say what the member list held: the add saw our peer URL under an id we think is gone.
          if (!/Peer URLs already exists/.test(String(error))) throw error;
          const list = await etcdctl(others(), ['member', 'list', '-w', 'json', '--command-timeout=3s']).catch((e: unknown) => String(e));
          throw new Error(`member add ${member.name}: peer URL ${member.peerUrl} already listed (former ids ${[...member.formerIds].join(',')}): ${list}`);
        });
        const id = /Member\s+([0-9a-f]+)\s+added/.exec(added)?.[1];
        if (id === undefined) throw new Error(`unexpected member add output: ${added}`);
        return id;
      });
      const initialCluster = this.members.filter((m) => !m.removed || m === member).map((m) => `${m.name}=${m.peerUrl}`).join(',');
      this.initialState.set(member.name, { state: 'existing', cluster: initialCluster });
      member.id = newId;
      member.learner = true;
      member.removed = false;
      this.stepLog(`churn ${member.name}: added as learner ${newId}`);
      await this.untilListedEverywhere(member, newId, 10_000);
    }
    if (!member.running) this.restart(member);
    const id = member.id!;
    await retry(signal, 60_000, 250, () => {
      // A learner that exited (it took a removed id after all, or a fault of its own) starts again.
      if (!member.running) this.restart(member);
      return etcdctl(others(), ['member', 'promote', id, '--command-timeout=5s']).catch((error: unknown) => {
        // Promoted already (an earlier attempt whose answer was lost). Not "can only promote a
        // learner member which is in sync with leader": that one is a learner still catching up.
        if (/not a learner|can only promote a learner member(?! which is in sync)/.test(String(error))) return '';
        throw error;
      });
    });
    member.learner = false;
  }

  /**
   * Until every other running member's own member list shows `id` and none of the member's
   * former ids (or `timeoutMs` passed): a joining member (etcd 3.4 and Conclave alike) takes
   * its id from the first peer that answers its cluster query, by peer URL, and a peer that
   * has not applied the removal and the add yet still lists the removed member there. The
   * newcomer then runs under the removed id and the learner never catches up (seen on both:
   * with churn alone, an etcd learner was not in sync after 58 s; a Conclave pass failed at
   * heal with the learner's process running as the removed member).
   */
  private async untilListedEverywhere(member: ChaosMember, id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const peers = this.members.filter((m) => m !== member && m.running && !m.paused && !m.removed);
    const pending = new Set(peers);
    while (pending.size > 0 && Date.now() < deadline) {
      await Promise.all([...pending].map(async (peer) => {
        const out = await etcdctl([peer.endpoint], ['member', 'list', '-w', 'json', '--command-timeout=2s']).catch(() => '');
        const ids = new Set([...out.matchAll(/"ID":\s*(\d+)/g)].map((m) => BigInt(m[1]!).toString(16)));
        if (ids.has(id) && ![...member.formerIds].some((former) => ids.has(former))) pending.delete(peer);
      }));
      if (pending.size > 0) await sleep(200);
    }
    if (pending.size > 0) this.stepLog(`churn ${member.name}: ${[...pending].map((m) => m.name).join(',')} did not list ${id} within ${timeoutMs} ms; starting it anyway`);
  }

  async waitServing(member: ChaosMember, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!member.running) throw new Error(`${member.name} exited:\n${member.log.slice(-3000)}`);
      try {
        await etcdctl([member.endpoint], ['get', 'chaos-readiness', '--consistency=s', '--command-timeout=2s']);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  }

  healNetwork(): void {
    for (const m of this.members) m.proxy.healAll();
  }

  /** Everything back: network healed, paused members continued, stopped ones restarted. */
  async healAll(): Promise<void> {
    this.healNetwork();
    for (const m of this.members) this.resume(m);
    for (const m of this.members) if (!m.running && !m.removed) this.restart(m);
    for (const m of this.members) if (!m.removed) await this.waitServing(m, 90_000);
  }

  logs(): string {
    return this.members.map((m) => `--- ${m.name} (${this.options.system}${this.options.system === 'conclave' ? `, ${m.engine}` : ''})\n${m.log.slice(-5000)}`).join('\n');
  }

  async close(): Promise<void> {
    for (const client of this.statusClients.values()) client.destroy();
    await Promise.all(this.members.map((m) => this.kill(m)));
    await Promise.all(this.members.map((m) => m.proxy.close()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; its listener goes either way (the run's signals serve thousands of sleeps). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function retry<T>(signal: AbortSignal, timeoutMs: number, intervalMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted || Date.now() > deadline) throw error;
      await sleep(intervalMs, signal);
    }
  }
}
