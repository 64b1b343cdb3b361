import type { Clock } from '../base/clock.js';
import type { Entry, RawNode, ReadState, Snapshot, SoftState } from '../raft/index.js';
import type { DiskStorage } from '../storage/index.js';
import type { PeerTransport } from './transport.js';

/** What the ready loop calls back into (the member). */
export interface DriverHooks {
  restoreSnapshot(snapshot: Snapshot): void;
  apply(entry: Entry): void;
  softStateChanged(state: SoftState): void;
  readStates(states: readonly ReadState[]): void;
  /** After each Ready is fully handled (applied entries, advance): time for snapshots and waiters. */
  afterReady(): Promise<void>;
  /** A disk write or fsync failed, or an invariant broke: the member must stop (never retry an fsync). */
  fatal(error: unknown): void;
}

/**
 * The ready loop of one member (etcd-io/raft's contract, doc.go), pipelined:
 *   1. a leader sends the Ready's messages at once, while it persists (Raft dissertation
 *      10.2.1); a follower only after its hard state and entries are durable;
 *   2. persist the hard state, entries and snapshot: one WAL write (O_DSYNC), none at all when
 *      only the commit index moved;
 *   3. while that write is in flight, apply the committed entries this member already holds
 *      durably (their callers are answered then); the rest after it;
 *   4. restore a snapshot, hand out read states, advance (a leader's own new entries count
 *      toward commit from here: RaftConfig.leaderAcksAfterPersist).
 * Nothing is applied, so nothing acknowledged, before it is durable on a quorum counted only
 * from durable copies, this member's own included. One Ready at a time; inputs keep arriving
 * meanwhile and land in the next Ready, which is how proposals get batched into one write.
 */
export class RaftDriver {
  private running = false;
  private scheduled = false;
  private stopped = false;
  private cancelTick: (() => void) | undefined;
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | undefined;
  /** The last log index known durable on this member (entries of a Ready in flight are not). */
  private durableIndex: number;

  constructor(
    readonly rawNode: RawNode,
    private readonly storage: DiskStorage,
    private readonly transport: PeerTransport,
    private readonly clock: Clock,
    private readonly tickMs: number,
    private readonly hooks: DriverHooks,
  ) {
    this.durableIndex = storage.lastIndex();
  }

  start(): void {
    const onTick = (): void => {
      if (this.stopped) return;
      this.rawNode.tick();
      this.kick();
      this.cancelTick = this.clock.setTimer(this.tickMs, onTick);
    };
    this.cancelTick = this.clock.setTimer(this.tickMs, onTick);
    this.kick();
  }

  /** Schedules the loop to run if there is work (call after every input to the RawNode). */
  kick(): void {
    if (this.stopped || this.running || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.loop();
    });
  }

  /** Stops ticking and waits for the Ready in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    await this.idle;
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.idle = new Promise((resolve) => {
      this.resolveIdle = resolve;
    });
    try {
      while (!this.stopped && this.rawNode.hasReady()) await this.handleReady();
    } catch (error) {
      this.stopped = true;
      this.cancelTick?.();
      this.hooks.fatal(error);
    } finally {
      this.running = false;
      this.resolveIdle?.();
    }
    if (!this.stopped && this.rawNode.hasReady()) this.kick();
  }

  private async handleReady(): Promise<void> {
    const ready = this.rawNode.ready();
    const leading = this.rawNode.raft.role === 'leader';
    if (leading && ready.messages.length > 0) this.transport.send(ready.messages);
    const persists = ready.hardState !== undefined || ready.entries.length > 0 || ready.snapshot !== undefined;
    // Entries from the first one of this Ready on are replaced by it: not durable until it is.
    if (ready.entries.length > 0) this.durableIndex = Math.min(this.durableIndex, ready.entries[0]!.index - 1);
    const saving = persists
      ? this.storage.save({
          ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
          entries: ready.entries,
          ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }),
          // A commit-index-only change costs no disk work (it rides along with the next write).
          mustSync: ready.mustSync,
        })
      : undefined;
    // Committed entries already durable here are applied while this Ready persists (and their
    // callers answered): committed means durable on a quorum, because the leader counts its own
    // copy only once persisted (leaderAcksAfterPersist), and this member's copy is durable too.
    let applied = 0;
    if (ready.snapshot === undefined) {
      const committed = ready.committedEntries;
      while (applied < committed.length && committed[applied]!.index <= this.durableIndex) this.hooks.apply(committed[applied++]!);
    }
    if (saving !== undefined) await saving;
    if (ready.snapshot !== undefined) this.durableIndex = ready.snapshot.metadata.index;
    if (ready.entries.length > 0) this.durableIndex = ready.entries[ready.entries.length - 1]!.index;
    if (!leading && ready.messages.length > 0) this.transport.send(ready.messages);
    if (ready.snapshot !== undefined) this.hooks.restoreSnapshot(ready.snapshot);
    for (let i = applied; i < ready.committedEntries.length; i++) this.hooks.apply(ready.committedEntries[i]!);
    if (ready.softState !== undefined) this.hooks.softStateChanged(ready.softState);
    if (ready.readStates.length > 0) this.hooks.readStates(ready.readStates);
    this.rawNode.advance();
    await this.hooks.afterReady();
  }
}
