/**
 * The simulated network between raft nodes. Every message gets a delivery time drawn from
 * the seeded Random (so messages overtake each other: reordering), may be dropped or
 * duplicated, and is blocked by partitions, which are sets of directed links (so one-way
 * partitions are just a link blocked in one direction).
 */
import type { SeededRandom } from '../../src/base/random.js';
import type { Message, NodeId } from '../../src/raft/index.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropProbability: number;
  /** Probability that a message is delivered twice. */
  duplicateProbability: number;
  /** Extra delivery delay, uniformly drawn from [0, maxDelayTicks] ticks. */
  maxDelayTicks: number;
}

export const CALM_NETWORK: NetworkFaults = { dropProbability: 0, duplicateProbability: 0, maxDelayTicks: 0 };

interface InFlight {
  readonly deliverAtTick: number;
  /** Tie-breaker among messages due in the same tick, random so that they are reordered. */
  readonly order: number;
  readonly message: Message;
}

/** Most messages in flight; beyond it the network drops (a real network's buffers are bounded too). */
export const MAX_IN_FLIGHT = 20_000;

export class SimNetwork {
  faults: NetworkFaults = CALM_NETWORK;
  private inFlight: InFlight[] = [];
  private readonly blocked = new Set<string>();
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(private readonly random: SeededRandom) {}

  private static link(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(SimNetwork.link(from, to));
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(SimNetwork.link(from, to));
  }

  heal(): void {
    this.blocked.clear();
  }

  partitionCount(): number {
    return this.blocked.size;
  }

  /** Queues `message`; returns false when the network lost it at once. */
  send(message: Message, nowTick: number): boolean {
    this.sent += 1;
    if (this.inFlight.length >= MAX_IN_FLIGHT || this.random.chance(this.faults.dropProbability)) {
      this.dropped += 1;
      return false;
    }
    const copies = this.random.chance(this.faults.duplicateProbability) ? 2 : 1;
    if (copies === 2) this.duplicated += 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.faults.maxDelayTicks === 0 ? 0 : this.random.int(this.faults.maxDelayTicks + 1);
      this.inFlight.push({ deliverAtTick: nowTick + delay, order: this.random.int(1 << 30), message });
    }
    return true;
  }

  /**
   * Removes and returns the messages due by `nowTick`, in a random order, without those on
   * blocked links (which are lost, as on a real partition) or to nodes for which `isDown` holds.
   */
  takeDue(nowTick: number, isDown: (id: NodeId) => boolean): { deliver: Message[]; lost: Message[] } {
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const item of this.inFlight) (item.deliverAtTick <= nowTick ? due : later).push(item);
    this.inFlight = later;
    due.sort((a, b) => a.deliverAtTick - b.deliverAtTick || a.order - b.order);
    const deliver: Message[] = [];
    const lost: Message[] = [];
    for (const { message } of due) {
      if (this.isBlocked(message.from, message.to) || isDown(message.to)) {
        this.dropped += 1;
        lost.push(message);
      } else {
        deliver.push(message);
      }
    }
    return { deliver, lost };
  }

  pending(): number {
    return this.inFlight.length;
  }
}
