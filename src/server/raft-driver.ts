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
 * The ready loop of one member (etcd-io/raft's contract, doc.go):
 *   1. persist the Ready's hard state, entries and snapshot (one WAL batch, one fdatasync);
 *   2. send its messages — a leader sends them while it persists (Raft dissertation 10.2.1:
 *      its own entries count toward commit only once appended, and nothing is applied
 *      before the Ready carrying them is durable), a follower only after;
 *   3. restore the snapshot, apply the committed entries, hand out read states;
 *   4. advance.
 * One Ready at a time; inputs (ticks, messages, proposals) keep arriving meanwhile and land in
 * the next Ready, which is how proposals get batched into one fsync.
 */
export class RaftDriver {
  private running = false;
  private scheduled = false;
  private stopped = false;
  private cancelTick: (() => void) | undefined;
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | undefined;

  constructor(
    readonly rawNode: RawNode,
    private readonly storage: DiskStorage,
    private readonly transport: PeerTransport,
    private readonly clock: Clock,
    private readonly tickMs: number,
    private readonly hooks: DriverHooks,
  ) {}

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
    if (ready.hardState !== undefined || ready.entries.length > 0 || ready.snapshot !== undefined) {
      await this.storage.save({
        ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
        entries: ready.entries,
        ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }),
        // A commit-index-only change costs no disk work (it rides along with the next write).
        mustSync: ready.mustSync,
      });
    }
    if (!leading && ready.messages.length > 0) this.transport.send(ready.messages);
    if (ready.snapshot !== undefined) this.hooks.restoreSnapshot(ready.snapshot);
    for (const entry of ready.committedEntries) this.hooks.apply(entry);
    if (ready.softState !== undefined) this.hooks.softStateChanged(ready.softState);
    if (ready.readStates.length > 0) this.hooks.readStates(ready.readStates);
    this.rawNode.advance();
    await this.hooks.afterReady();
  }
}
