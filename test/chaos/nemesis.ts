/**
 * The nemesis: network faults and watch interruptions in lanes of their own (one fault at a
 * time within a lane, each healed before the lane's next, round robin over the lane's kinds),
 * and the faults that take a member out (a kill, a disk fault, a pause, a membership churn)
 * in as many member-out lanes as members can be out with a quorum left (2 of 5). Each
 * member-out lane starts next the kind started least often so far, so every kind gets its
 * share of the run whatever its length: a churn lasts many times a pause, and with
 * round-robin lanes sharing permits churn and disk faults came out far below the others.
 * Every fault is drawn from the seed's random stream (the cluster's timing is not
 * deterministic, so a seed replays the schedule, not the interleaving).
 */
import type { SeededRandom } from '../../src/base/random.js';
import { rmSync, writeFileSync } from 'node:fs';
import type { ChaosCluster, ChaosMember } from './cluster.js';
import { sleep } from './cluster.js';

export const FAULT_KINDS = ['cut-one-way', 'delay', 'drop', 'isolate', 'split-leader-minority', 'kill', 'pause-leader', 'pause-follower', 'pause-lessor', 'watch-reconnect', 'disk', 'churn'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const NETWORK_KINDS: readonly FaultKind[] = ['cut-one-way', 'delay', 'drop', 'isolate', 'split-leader-minority'];
/** Faults that take one member out; at most a minority of them at once. */
const MEMBER_OUT_KINDS: readonly FaultKind[] = ['kill', 'disk', 'pause-leader', 'pause-follower', 'pause-lessor', 'churn'];
/** How long a fault that needs the leader looks for one before it gives its turn up. */
const LEADER_WAIT_MS = 4000;

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
  /** Faults injected, by kind (the report's counts). */
  readonly counts = new Map<FaultKind, number>();
  readonly errors: string[] = [];
  /** Member-out faults running now, by kind: a member-out lane starts the kind furthest behind next. */
  private readonly inProgress = new Map<FaultKind, number>();
  /** Members a member-out fault has taken out; the other lanes leave them alone until healed. */
  private readonly out = new Set<ChaosMember>();
  /** Members the network lane's current fault touches (a disk fault needs a member that gets writes). */
  private readonly netTargets = new Set<ChaosMember>();
  /** One membership change at a time: the cluster allows one learner. */
  private churnRunning = false;

  constructor(private readonly cluster: ChaosCluster, private readonly options: NemesisOptions) {
    for (const kind of options.kinds) this.counts.set(kind, 0);
  }

  async run(): Promise<void> {
    const { kinds } = this.options;
    const lanes = [
      this.faultLane(NETWORK_KINDS.filter((k) => kinds.includes(k))),
      this.faultLane(kinds.includes('watch-reconnect') ? ['watch-reconnect'] : []),
    ];
    // Process faults and membership changes each take one member out; at most a minority at
    // once (1 of 3, 2 of 5), or the cluster would be without a quorum for most of the run.
    // Disk faults need Conclave's FileSystem switch: against etcd they never happen, and a kind
    // that never happens would stay the one furthest behind forever.
    const memberOutKinds = MEMBER_OUT_KINDS.filter((k) => kinds.includes(k) && (k !== 'disk' || this.cluster.options.system === 'conclave'));
    const permits = Math.max(1, Math.floor((this.cluster.members.length - 1) / 2));
    if (memberOutKinds.length > 0) for (let i = 0; i < permits; i++) lanes.push(this.memberOutLane(memberOutKinds));
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

  /** The current leader, looked for up to LEADER_WAIT_MS (elections follow most faults); undefined when there is none by then. */
  private async leader(): Promise<ChaosMember | undefined> {
    const deadline = performance.now() + LEADER_WAIT_MS;
    for (;;) {
      const leader = await this.cluster.leader();
      if (leader !== undefined && !leader.churning) return leader;
      if (this.options.signal.aborted || performance.now() > deadline) return undefined;
      await sleep(200, this.options.signal);
    }
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
    let turn = this.options.random.int(kinds.length);
    while (!this.options.signal.aborted) {
      const kind = kinds[turn++ % kinds.length]!;
      try {
        await this.inject(kind, new Set());
      } catch (error) {
        this.errors.push(`${kind}: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        if (NETWORK_KINDS.includes(kind)) {
          this.cluster.healNetwork();
          this.netTargets.clear();
        }
      }
      await this.hold(50, 250);
    }
  }

  /**
   * The member-out kind done least often so far, counting the ones in progress (ties drawn
   * from the seed); a churn only when none runs. Faults that did not happen (refused, no
   * leader) do not count, so a kind that often fails gets more turns: the bar is on faults done.
   */
  private nextMemberOutKind(kinds: readonly FaultKind[]): FaultKind {
    const eligible = kinds.filter((k) => k !== 'churn' || !this.churnRunning);
    const done = (k: FaultKind): number => (this.counts.get(k) ?? 0) + (this.inProgress.get(k) ?? 0);
    const least = Math.min(...eligible.map(done));
    return this.pick(eligible.filter((k) => done(k) === least))!;
  }

  /** One member-out lane: holds one of the minority's permits; one fault at a time, healed before the next. */
  private async memberOutLane(kinds: readonly FaultKind[]): Promise<void> {
    while (!this.options.signal.aborted) {
      const kind = this.nextMemberOutKind(kinds);
      this.inProgress.set(kind, (this.inProgress.get(kind) ?? 0) + 1);
      if (kind === 'churn') {
        this.churnRunning = true;
        try {
          await this.churnStep();
        } finally {
          this.churnRunning = false;
        }
      } else {
        const taken = new Set<ChaosMember>();
        try {
          await this.inject(kind, taken);
        } catch (error) {
          this.errors.push(`${kind}: ${(error as Error).message.split('\n')[0]}`);
        } finally {
          // Only this lane's victims: another lane's may still be meant to be down.
          for (const m of taken) this.cluster.resume(m);
          const restarted = [...taken].filter((m) => !m.running && !m.removed);
          for (const m of restarted) this.cluster.restart(m);
          for (const m of restarted) await this.cluster.waitServing(m, 30_000).catch(() => undefined);
          for (const m of taken) this.out.delete(m);
        }
      }
      this.inProgress.set(kind, (this.inProgress.get(kind) ?? 1) - 1);
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
        this.netTargets.add(from).add(to);
        this.count(kind);
        log(`cut ${from.name} -> ${to.name}`);
        await this.hold(300, 1500);
        return;
      }
      case 'delay': {
        const target = this.pick(all)!;
        const ms = 20 + options.random.int(150);
        for (const m of all) if (m !== target) target.proxy.setMode(m.name, { kind: 'delay', ms });
        this.netTargets.add(target);
        this.count(kind);
        log(`delay ${ms} ms into ${target.name}`);
        await this.hold(300, 1500);
        return;
      }
      case 'drop': {
        // A burst of loss: every connection to one member breaks (in-flight data lost).
        const target = this.pick(all)!;
        target.proxy.reset();
        this.netTargets.add(target);
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
        await this.hold(100, 600);
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
        const [min, max] = kind === 'pause-lessor' ? [options.leaseTtlSeconds * 1000 + 200, options.leaseTtlSeconds * 1000 + 700] : [300, 1000];
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
        // A member that writes: the leader while there is one (every proposal goes to its WAL),
        // not one the network lane cuts off (a member that receives no appends writes nothing).
        const leader = await this.leader();
        const free = this.members().filter((m) => m.running && !m.paused && !this.netTargets.has(m));
        const victim = leader !== undefined && free.includes(leader) ? leader : this.pick(free);
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
        await this.hold(0, 300);
        return;
      }
      case 'churn':
        return;
    }
  }

  private isolate(side: readonly ChaosMember[], all: readonly ChaosMember[]): void {
    for (const a of side) this.netTargets.add(a);
    for (const a of side) {
      for (const b of all) {
        if (side.includes(b)) continue;
        a.proxy.setMode(b.name, { kind: 'cut' });
        b.proxy.setMode(a.name, { kind: 'cut' });
      }
    }
  }

  /**
   * One membership churn on a running voter (remove, wipe, add as learner, promote). A churn
   * cut short leaves a member removed or a learner, i.e. out: it is finished (re-added,
   * promoted) before this lane's permit goes to another fault.
   */
  private async churnStep(): Promise<void> {
    const { log, signal } = this.options;
    let unfinished = this.cluster.members.find((m) => m.removed || m.learner);
    if (unfinished === undefined) {
      // Any running member; the cluster refuses a removal that would leave too few started voters.
      const victim = this.pick(this.members().filter((m) => m.running && !m.paused));
      if (victim === undefined) return;
      log(`churn ${victim.name}: remove, wipe, add as learner, promote`);
      try {
        await this.cluster.churn(victim, signal);
        this.count('churn');
        log(`churn ${victim.name}: promoted`);
        return;
      } catch (error) {
        this.errors.push(`churn: ${(error as Error).message.split('\n')[0]}`);
        log(`churn failed: ${(error as Error).message.split('\n')[0]?.slice(0, 300)}`);
      }
      unfinished = this.cluster.members.find((m) => m.removed || m.learner);
    }
    while (unfinished !== undefined && !signal.aborted) {
      log(`finishing the churn of ${unfinished.name}`);
      try {
        await this.cluster.readd(unfinished, signal);
      } catch (error) {
        this.errors.push(`churn: ${(error as Error).message.split('\n')[0]}`);
        log(`finishing the churn failed: ${(error as Error).message.split('\n')[0]?.slice(0, 300)}`);
        await sleep(300, signal);
      }
      unfinished = this.cluster.members.find((m) => m.removed || m.learner);
    }
  }
}
