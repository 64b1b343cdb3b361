/**
 * One chaos run: start the cluster, run the workloads and the nemesis for the given time,
 * heal, drain, then check every history. Returns the counts and the violations (the
 * harness's own failures, such as a cluster that never recovers, are violations too).
 */
import { SeededRandom } from '../../src/base/random.js';
import { checkRegisters } from './check/linearizability.js';
import { checkLeases } from './check/leases.js';
import { checkLockHistory } from './check/locks.js';
import { checkReference, checkWatcher } from './check/watches.js';
import type { WatchSpec } from './check/watches.js';
import { setMaxListeners } from 'node:events';
import { ChaosCluster, sleep } from './cluster.js';
import type { SystemKind } from './cluster.js';
import { FAULT_KINDS, Nemesis } from './nemesis.js';
import type { FaultKind } from './nemesis.js';
import { RawWatcher } from './raw-watcher.js';
import { LeaseWorkload, LockWorkload, RegisterWorkload, newClient, now } from './workloads.js';
import type { WorkloadContext } from './workloads.js';

export const PLANTS = ['serializable-reads', 'mutex-without-predecessor-wait', 'watch-resume-skew', 'etcd-progress-requests'] as const;

export interface ChaosOptions {
  readonly system: SystemKind;
  readonly seconds: number;
  readonly seed: number;
  readonly kinds?: readonly FaultKind[];
  readonly plant?: ReadonlySet<string>;
  readonly members?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly system: SystemKind;
  readonly seed: number;
  readonly seconds: number;
  readonly operations: number;
  readonly registerOps: number;
  readonly indeterminate: number;
  readonly keys: number;
  readonly lockCycles: number;
  readonly lockWrites: number;
  readonly leases: number;
  readonly leasesExpired: number;
  /** Lease deletions a watch delivered past the bound while their revision was committed within it (not violations). */
  readonly leaseWatchLateSightings: number;
  readonly leaseWatchMaxLagMs: number;
  /** Lease deletions past the time bound while the cluster committed no later-sent write ahead of them (not violations). */
  readonly leasesLateWithoutQuorum: number;
  readonly watchEventsChecked: number;
  readonly watchReconnects: number;
  readonly faults: Record<string, number>;
  readonly engines: string[];
  readonly violations: string[];
  readonly harnessErrors: string[];
}

/** Election timeout and heartbeat: generous, as the members share two loaded cores with the test. */
const ELECTION_MS = 1000;
const HEARTBEAT_MS = 100;
const LEASE_TTL_S = 3;
/**
 * Beyond TTL + election timeout, time for the leader's lessor to notice (it checks every
 * 500 ms), the revoke to commit and the deletion to reach the test's watch on a machine whose
 * load average may exceed 20; and the leader-change poller (every 200 ms, each status call
 * up to 1 s) may miss a term change by a few seconds. An etcd 3.4 pass went 0.85 s past a
 * 5 s slack on the run's last lease.
 */
const LEASE_SLACK_MS = 7000;

/** Control calls of the harness itself retry (a learner or a member being removed refuses them for a while). */
async function persist<T>(what: string, call: () => Promise<T>, timeoutMs = 90_000): Promise<T> {
  const deadline = now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
      await sleep(300);
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  const plant = options.plant ?? new Set<string>();
  const kinds = options.kinds ?? FAULT_KINDS;
  const cluster = await ChaosCluster.start({ system: options.system, members: options.members ?? 5, electionTimeoutMs: ELECTION_MS, heartbeatIntervalMs: HEARTBEAT_MS });
  cluster.stepLog = log;
  const engines = new Set<string>();
  const violations: string[] = [];
  const started = now();
  const stop = new AbortController();
  const leaseStop = new AbortController();
  const nemesisStop = new AbortController();
  try {
    const prefix = `chaos/${options.seed}-${Date.now()}/`;
    const control = newClient({ endpoints: cluster.endpoints(), prefix, random, signal: new AbortController().signal, plant });
    const startRevision = (await persist('start', async () => await control.put(`${prefix}start`, 'x'))).header.revision + 1n;
    // Every sleep of every worker listens on these.
    for (const c of [stop, leaseStop, nemesisStop]) setMaxListeners(0, c.signal);
    const ctx: WorkloadContext = { endpoints: cluster.endpoints(), prefix, random: random.fork(), signal: stop.signal, plant };
    const registers = new RegisterWorkload(ctx, 24, 6, 150);
    const locks = new LockWorkload({ ...ctx, random: random.fork() }, 4);
    // Lease workers stop granting with the others; their deletion watch runs until leaseStop.
    const leases = new LeaseWorkload({ ...ctx, random: random.fork() }, 2, LEASE_TTL_S, leaseStop.signal);
    const skew = plant.has('watch-resume-skew') ? 2n : 0n;
    const specs: WatchSpec[] = [
      { id: 0, prefix, startRevision, prevKv: true, noPut: false, noDelete: false },
      { id: 1, prefix: `${prefix}reg/`, startRevision, prevKv: true, noPut: false, noDelete: false },
      { id: 2, prefix, startRevision, prevKv: false, noPut: false, noDelete: true },
      { id: 3, prefix: `${prefix}lease/`, startRevision, prevKv: true, noPut: true, noDelete: false },
    ];

    // Leader changes (a term moving on any member), for the lease bound.
    const leaderChanges: number[] = [];
    const polling = (async () => {
      let term = -1n;
      while (!leaseStop.signal.aborted) {
        const up = cluster.members.filter((m) => m.running && !m.paused);
        const terms = await Promise.all(up.map((m) => cluster.statusClient(m).status({ timeoutMs: 1000 }).then((st) => st.raftTerm, () => -1n)));
        const max = terms.reduce((a, b) => (b > a ? b : a), -1n);
        if (max > term) {
          if (term >= 0n) {
            leaderChanges.push(now());
            log(`term ${max} (a leader change, for the lease bound)`);
          }
          term = max;
        }
        for (const m of cluster.members) if (m.running) engines.add(m.engine);
        await sleep(200, leaseStop.signal);
      }
    })();

    // Requested progress notifications: etcd before 3.4.25 answers a progress request for a
    // watcher that has not caught up with a revision ahead of its pending events
    // (etcd-io/etcd#15220, fixed by #15237); our checker catches that on the 3.4.23 here, so
    // against etcd only the periodic notifications (held back while a watcher catches up) are checked.
    const requestProgress = options.system === 'conclave' || options.plant?.has('etcd-progress-requests') === true;
    const watchers = specs.map((spec) => new RawWatcher(cluster.endpoints(), spec, skew, requestProgress));
    const progressing = (async () => {
      while (requestProgress && !stop.signal.aborted) {
        for (const w of watchers) w.requestProgress();
        await sleep(700, stop.signal);
      }
    })();
    const nemesis = new Nemesis(cluster, { kinds, random: random.fork(), signal: nemesisStop.signal, leaseTtlSeconds: LEASE_TTL_S, interruptWatches: () => watchers.forEach((w) => w.interrupt()), log });
    const nemesisDone = nemesis.run();
    const work = Promise.all([registers.run(), locks.run(), leases.run()]);
    await sleep(options.seconds * 1000);
    nemesisStop.abort();
    await nemesisDone;
    log('healing');
    // A churn cut short leaves a member out: bring it back, so the end state is the full cluster
    // (after the others are back: a re-add needs their quorum).
    await cluster.healAll();
    for (const m of cluster.members.filter((x) => x.removed || x.learner)) {
      log(`healing: re-adding ${m.name}`);
      await persist(`re-adding ${m.name}`, () => cluster.readd(m, new AbortController().signal), 120_000);
    }
    await cluster.healAll();
    log('healed');
    stop.abort();
    const healedAt = now();
    // Leases granted until now must all expire: wait out their bound.
    await sleep((LEASE_TTL_S * 1000 + ELECTION_MS) * 2 + 3000);
    leaseStop.abort();
    const leaseWatchEndedAt = now();
    await work;
    await polling;
    await progressing;

    // Drain the watchers to a sentinel, read the reference stream.
    // One revision every watcher selects: puts under each prefix and a delete under lease/.
    await persist('sentinel', async () => await control.put(`${prefix}lease/~end`, 'x'));
    const sentinelCalledAt = now();
    const sentinelAnswer = await persist('sentinel', async () => await control.txn().do(control.put(`${prefix}reg/~end`, 'x'), control.put(`${prefix}~end`, 'x'), control.delete(`${prefix}lease/~end`)));
    const sentinel = sentinelAnswer.header.revision;
    const sentinelAt = now();
    const drainSignal = AbortSignal.timeout(90_000);
    const complete = await Promise.all(watchers.map((w) => w.waitFor(sentinel, drainSignal)));
    const referenceWatcher = new RawWatcher(cluster.endpoints(), { id: 99, prefix, startRevision, prevKv: true, noPut: false, noDelete: false });
    if (!(await referenceWatcher.waitFor(sentinel, AbortSignal.timeout(90_000)))) violations.push('harness: the reference watch did not reach the end revision');
    referenceWatcher.close();
    const reference = referenceWatcher.record.events;
    violations.push(...checkReference(reference, [...registers.acknowledged]));
    let watchEventsChecked = reference.length;
    for (const [i, w] of watchers.entries()) {
      w.close();
      if (!complete[i]) violations.push(`watcher ${i}: never reached revision ${sentinel} (last ${w.lastRevision})`);
      violations.push(...checkWatcher(w.record, reference, complete[i]!));
      watchEventsChecked += w.record.events.length;
    }
    // Compaction is reported: a watch from before the compacted revision is canceled with it.
    await persist('compact', () => control.compact(sentinel).catch((error: unknown) => {
      // A retry after a compaction that went through is refused as compacted already.
      if (/compacted/.test(String(error))) return undefined;
      throw error;
    }));
    const compacted = new RawWatcher(cluster.endpoints(), { id: 100, prefix, startRevision, prevKv: false, noPut: false, noDelete: false });
    await compacted.waitFor(sentinel, AbortSignal.timeout(10_000));
    compacted.close();
    if (compacted.record.compactRevision !== sentinel) violations.push(`compaction not reported: a watch from ${startRevision} after compacting at ${sentinel} got ${compacted.record.compactRevision ?? 'no compaction'} and ${compacted.record.events.length} events`);
    watchEventsChecked += compacted.record.events.length;

    const linear = checkRegisters(registers.ops);
    if (!linear.ok) violations.push(`registers: ${linear.detail}`);
    const lockCheck = checkLockHistory(locks.resource.writes, locks.sections);
    violations.push(...lockCheck.violations.slice(0, 20).map((v) => `locks: ${v}`));
    // Each lease key's deletion revision, from the complete stream (the lease watch may have missed none, but lagged).
    const deletions = new Map<string, bigint>();
    for (const e of reference) if (e.type === 'delete' && !deletions.has(e.key)) deletions.set(e.key, e.revision);
    for (const record of leases.leases) record.deleteRevision ??= deletions.get(record.key);
    // A key the lease watch did not see deleted is looked up: gone means deleted by the time the watch stopped.
    const remaining = new Set((await persist('lease keys', async () => await control.getPrefix(`${prefix}lease/`))).kvs.map((kv) => kv.key));
    // (Workers stopped granting long before the watch stopped, so this bound is never early.)
    for (const record of leases.leases) if (record.deletedSeenAt === undefined && !remaining.has(record.key)) record.deletedSeenAt = leaseWatchEndedAt;
    const leaseCheck = checkLeases(leases.leases, { electionTimeoutMs: ELECTION_MS, slackMs: LEASE_SLACK_MS, leaderChanges, observedUntil: now(), revisions: [...registers.revisions, ...leases.revisions, { revision: sentinel, at: sentinelAt, calledAt: sentinelCalledAt }] });
    violations.push(...leaseCheck.violations.slice(0, 20).map((v) => `leases: ${v}`));
    control.destroy();
    void healedAt;
    const registerOps = registers.ops.length;
    return {
      system: options.system,
      seed: options.seed,
      seconds: Math.round((now() - started) / 1000),
      operations: registerOps + locks.resource.writes.length + locks.sections.length + leases.leases.length,
      registerOps,
      indeterminate: registers.ops.filter((op) => op.output === undefined).length,
      keys: registers.keys(),
      lockCycles: locks.sections.length,
      lockWrites: locks.resource.writes.length,
      leases: leases.leases.length,
      leasesExpired: leaseCheck.expired,
      leaseWatchLateSightings: leaseCheck.lateWatchSightings,
      leaseWatchMaxLagMs: Math.round(leaseCheck.maxWatchLagMs),
      leasesLateWithoutQuorum: leaseCheck.lateWithoutQuorum,
      watchEventsChecked,
      watchReconnects: watchers.reduce((n, w) => n + w.record.reconnects, 0),
      faults: Object.fromEntries(nemesis.counts),
      engines: options.system === 'etcd' ? ['etcd'] : [...engines].sort(),
      violations,
      harnessErrors: [...nemesis.errors.slice(0, 50), ...[...registers.errors].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([m, n]) => `register op error x${n}: ${m}`)],
    };
  } catch (error) {
    violations.push(`harness: ${(error as Error).stack ?? String(error)}`);
    throw Object.assign(new Error(`chaos run failed: ${(error as Error).message}\n${cluster.logs()}`), { violations });
  } finally {
    // A failed run stops its workers too (they would retry against the closed cluster forever).
    for (const c of [nemesisStop, stop, leaseStop]) c.abort();
    await cluster.close();
  }
}

export function describeReport(r: ChaosReport): string {
  const faults = Object.entries(r.faults).map(([k, v]) => `${k}=${v}`).join(' ');
  return [
    `${r.system} seed=${r.seed} seconds=${r.seconds} engines=${r.engines.join('+')}`,
    `operations attempted=${r.operations} (register ops=${r.registerOps} of which indeterminate=${r.indeterminate}, keys=${r.keys}; lock cycles=${r.lockCycles} fenced writes=${r.lockWrites}; leases=${r.leases} expired=${r.leasesExpired}, of which the lease watch saw ${r.leaseWatchLateSightings} late, lagging up to ${r.leaseWatchMaxLagMs} ms; ${r.leasesLateWithoutQuorum} revoked past the time bound with no quorum meanwhile)`,
    `watch events checked=${r.watchEventsChecked} reconnects=${r.watchReconnects}`,
    `faults: ${faults}`,
    `violations=${r.violations.length}${r.violations.length > 0 ? `\n  ${r.violations.slice(0, 30).join('\n  ')}` : ''}`,
    ...(r.harnessErrors.length > 0 ? [`nemesis step errors (faults refused or timed out; not violations): ${r.harnessErrors.length}, first: ${r.harnessErrors.slice(0, 3).join(' | ')}`] : []),
  ].join('\n');
}
