/**
 * The nemesis: faults in lanes that run side by side (network faults; kills and disk faults;
 * pauses; watch interruptions; membership churn), one fault at a time within a lane, each
 * healed before the lane's next, until aborted. Faults that take a member out (a kill, a
 * pause, a disk fault, a churn) hold one of the cluster's member-out permits: as many as can
 * be out with a quorum left (2 of 5 members), so they overlap without stopping the cluster for
 * most of the run. Every fault is drawn from the seed's random stream (the cluster's timing is
 * not deterministic, so a seed replays the schedule, not the interleaving).
 */
import type { SeededRandom } from '../../src/base/random.js';
import { rmSync, writeFileSync } from 'node:fs';
import { Semaphore } from 'async-mutex';
import type { ChaosCluster, ChaosMember } from './cluster.js';
import { sleep } from './cluster.js';

export const FAULT_KINDS = ['cut-one-way', 'delay', 'drop', 'isolate', 'split-leader-minority', 'kill', 'pause-leader', 'pause-follower', 'pause-lessor', 'watch-reconnect', 'disk', 'churn'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const NETWORK_KINDS = new Set<FaultKind>(['cut-one-way', 'delay', 'drop', 'isolate', 'split-leader-minority']);
/** Faults of different lanes overlap (a kill during a partition, a pause during a churn); within a lane they take turns. */
const LANES: ReadonlyArray<readonly FaultKind[]> = [
  [...NETWORK_KINDS],
  ['kill', 'disk'],
  ['pause-leader', 'pause-follower', 'pause-lessor'],
  ['watch-reconnect'],
];

export interface NemesisOptions {
  readonly kinds: readonly FaultKind[];
  readonly random: SeededRandom;
  readonly signal: AbortSignal;
  readonly leaseTtlSeconds: number;
  /** Breaks the test's watch streams (the watch-reconnect fault). */
  readonly interruptWatches: () => void;
  readonly log: (line: string) => void;
}

/** Where a Conclave member looks for its disk fault switch (see `conclave server`'s CONCLAVE_TEST_DISK_FAULT_FILE). */
export function diskFaultFile(member: ChaosMember): string {
  return `${member.faultDir}/disk-fault`;
}

export class Nemesis {
  readonly counts = new Map<FaultKind, number>();
  readonly errors: string[] = [];
  /**
   * Process faults and membership changes each take one member out; at most a minority at once
   * (1 of 3, 2 of 5), or the cluster would be without a quorum for most of the run.
   */
  private readonly memberOut: Semaphore;
  /** Members a process-fault lane has taken out; the other lanes leave them alone until healed. */
  private readonly out = new Set<ChaosMember>();

  constructor(private readonly cluster: ChaosCluster, private readonly options: NemesisOptions) {
    for (const kind of options.kinds) this.counts.set(kind, 0);
    this.memberOut = new Semaphore(Math.max(1, Math.floor((cluster.members.length - 1) / 2)));
  }

  async run(): Promise<void> {
    const lanes = LANES.map((kinds) => this.faultLane(kinds.filter((k) => this.options.kinds.includes(k))));
    if (this.options.kinds.includes('churn')) lanes.push(this.churnLane());
    await Promise.all(lanes);
  }

  private count(kind: FaultKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** The members a fault may pick: not removed, not in a membership change, not out by another lane's fault. */
  private members(): ChaosMember[] {
    return this.cluster.members.filter((m) => !m.removed && !m.churning && !m.learner && !this.out.has(m));
  }

  /** Marks a member out for this lane's fault; `heal` brings back the ones this lane took. */
  private takeOut(member: ChaosMember, taken: Set<ChaosMember>): ChaosMember {
    this.out.add(member);
    taken.add(member);
    return member;
  }

  private async leader(): Promise<ChaosMember | undefined> {
    const leader = await this.cluster.leader();
    return leader?.churning === true ? undefined : leader;
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.options.random.int(items.length)];
  }

  private hold(minMs: number, maxMs: number): Promise<void> {
    return sleep(minMs + this.options.random.int(maxMs - minMs), this.options.signal);
  }

  /** One lane: its kinds round robin (so every kind gets its share whatever the run's length), each healed before the next. */
  private async faultLane(kinds: readonly FaultKind[]): Promise<void> {
    if (kinds.length === 0) return;
    const network = kinds.every((k) => NETWORK_KINDS.has(k));
    let turn = this.options.random.int(kinds.length);
    while (!this.options.signal.aborted) {
      const kind = kinds[turn++ % kinds.length]!;
      const release = network || kind === 'watch-reconnect' ? undefined : (await this.memberOut.acquire())[1];
      const taken = new Set<ChaosMember>();
      try {
        await this.inject(kind, taken);
      } catch (error) {
        this.errors.push(`${kind}: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        if (network) {
          this.cluster.healNetwork();
        } else {
          // Only this lane's victims: another lane's may still be meant to be down.
          for (const m of taken) this.cluster.resume(m);
          const restarted = [...taken].filter((m) => !m.running && !m.removed);
          for (const m of restarted) this.cluster.restart(m);
          for (const m of restarted) await this.cluster.waitServing(m, 30_000).catch(() => undefined);
          for (const m of taken) this.out.delete(m);
        }
        release?.();
      }
      await this.hold(50, 250);
    }
  }

  private async inject(kind: FaultKind, taken: Set<ChaosMember>): Promise<void> {
    const { cluster, options } = this;
    const all = this.members();
    const log = options.log;
    switch (kind) {
      case 'cut-one-way': {
        const from = this.pick(all)!;
        const to = this.pick(all.filter((m) => m !== from))!;
        to.proxy.setMode(from.name, { kind: 'cut' });
        this.count(kind);
        log(`cut ${from.name} -> ${to.name}`);
        await this.hold(300, 1500);
        return;
      }
      case 'delay': {
        const target = this.pick(all)!;
        const ms = 20 + options.random.int(150);
        for (const m of all) if (m !== target) target.proxy.setMode(m.name, { kind: 'delay', ms });
        this.count(kind);
        log(`delay ${ms} ms into ${target.name}`);
        await this.hold(300, 1500);
        return;
      }
      case 'drop': {
        // A burst of loss: every connection to one member breaks (in-flight data lost).
        const target = this.pick(all)!;
        target.proxy.reset();
        this.count(kind);
        log(`drop: connections to ${target.name} reset`);
        await this.hold(100, 500);
        return;
      }
      case 'isolate': {
        const target = this.pick(all)!;
        this.isolate([target], all);
        this.count(kind);
        log(`isolate ${target.name}`);
        await this.hold(800, 2000);
        return;
      }
      case 'split-leader-minority': {
        const leader = await this.leader();
        if (leader === undefined) return;
        const others = all.filter((m) => m !== leader);
        const minoritySize = Math.max(1, Math.floor((all.length - 1) / 2));
        const minority = [leader, ...others.slice(0, minoritySize - 1)];
        this.isolate(minority, all);
        this.count(kind);
        log(`split: {${minority.map((m) => m.name).join(',')}} (leader's side) | rest`);
        await this.hold(800, 2000);
        return;
      }
      case 'kill': {
        const leader = options.random.chance(0.5) ? await this.leader() : undefined;
        // Picked after the leader lookup, from the members free now: another lane may have
        // taken one out (or the churn lane started on it) while we looked.
        const free = this.members();
        const victim = leader !== undefined && free.includes(leader) ? leader : this.pick(free.filter((m) => m.running && !m.paused));
        if (victim === undefined) return;
        this.takeOut(victim, taken);
        await cluster.kill(victim);
        this.count(kind);
        log(`kill -9 ${victim.name}${victim === leader ? ' (leader)' : ''}`);
        await this.hold(300, 1000);
        cluster.restart(victim);
        // Back in service before the next member-affecting fault.
        await cluster.waitServing(victim, 30_000).catch(() => undefined);
        return;
      }
      case 'pause-leader':
      case 'pause-follower':
      case 'pause-lessor': {
        const leader = await this.leader();
        const victim = kind === 'pause-follower' ? this.pick(all.filter((m) => m !== leader && m.running && !m.paused)) : leader;
        if (victim === undefined || !this.members().includes(victim)) return;
        this.takeOut(victim, taken);
        cluster.pause(victim);
        this.count(kind);
        // A lessor pause outlasts the leases' TTL: the paused leader must not revoke early on resume.
        const [min, max] = kind === 'pause-lessor' ? [options.leaseTtlSeconds * 1000 + 300, options.leaseTtlSeconds * 1000 + 1000] : [400, 1500];
        log(`SIGSTOP ${victim.name} (${kind})`);
        await this.hold(min, max);
        cluster.resume(victim);
        return;
      }
      case 'watch-reconnect': {
        options.interruptWatches();
        this.count(kind);
        log('watch streams interrupted');
        await this.hold(1500, 4000);
        return;
      }
      case 'disk': {
        // Conclave only: its WAL writes and syncs fail (EIO or ENOSPC); the member must stop, not carry on.
        if (cluster.options.system !== 'conclave') return;
        const victim = this.pick(all.filter((m) => m.running && !m.paused));
        if (victim === undefined) return;
        const code = options.random.chance(0.5) ? 'EIO' : 'ENOSPC';
        this.takeOut(victim, taken);
        writeFileSync(diskFaultFile(victim), code);
        const stopped = await Promise.race([victim.exited.then(() => true), sleep(8000).then(() => false)]);
        rmSync(diskFaultFile(victim), { force: true });
        if (!stopped) {
          await cluster.kill(victim);
          throw new Error(`${victim.name} kept running for 8 s with failing disk writes (${code})`);
        }
        this.count(kind);
        log(`disk ${code} on ${victim.name}: it stopped (exit ${victim.child?.exitCode})`);
        await this.hold(100, 500);
        return;
      }
      case 'churn':
        return;
    }
  }

  private isolate(side: readonly ChaosMember[], all: readonly ChaosMember[]): void {
    for (const a of side) {
      for (const b of all) {
        if (side.includes(b)) continue;
        a.proxy.setMode(b.name, { kind: 'cut' });
        b.proxy.setMode(a.name, { kind: 'cut' });
      }
    }
  }

  private async churnLane(): Promise<void> {
    while (!this.options.signal.aborted) {
      const unfinished = this.cluster.members.find((m) => m.removed || m.learner);
      const [, release] = await this.memberOut.acquire();
      try {
        if (unfinished !== undefined) {
          // A churn cut short: finish it first (re-add, or promote the learner).
          this.options.log(`finishing the churn of ${unfinished.name}`);
          await this.cluster.readd(unfinished, this.options.signal);
        } else {
          // Any running member; the cluster refuses a removal that would leave too few started voters.
          const victim = this.pick(this.members().filter((m) => m.running && !m.paused));
          if (victim !== undefined) {
            this.options.log(`churn ${victim.name}: remove, wipe, add as learner, promote`);
            await this.cluster.churn(victim, this.options.signal);
            this.count('churn');
          }
        }
      } catch (error) {
        this.errors.push(`churn: ${(error as Error).message.split('\n')[0]}`);
        this.options.log(`churn failed: ${(error as Error).message.split('\n')[0]?.slice(0, 300)}`);
      } finally {
        release();
      }
      await this.hold(300, 1000);
    }
  }
}
