/**
 * The interaction environment behind the golden scripts: a set of HarnessNodes and the
 * messages in flight between them, driven one text command at a time. Every command prints
 * what it caused (each Ready in full, each message delivered or dropped), so a golden file is
 * a readable trace of the protocol; see commands.ts for the command language.
 */
import type { Message, NodeId } from '../../../src/raft/index.js';
import { describeMessage, describeReady } from '../../../src/raft/index.js';
import type { NodeOptions } from '../support/harness-node.js';
import { HarnessNode } from '../support/harness-node.js';

export class InteractionEnv {
  readonly nodes = new Map<NodeId, HarnessNode>();
  /** Messages sent and not yet delivered, in send order. */
  inFlight: Message[] = [];
  private output: string[] = [];

  print(line: string): void {
    this.output.push(line);
  }

  takeOutput(): string[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  node(id: NodeId): HarnessNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  addBootstrapped(ids: NodeId[], voters: NodeId[], learners: NodeId[], options: NodeOptions): void {
    for (const id of ids) this.nodes.set(id, HarnessNode.bootstrap(id, voters, learners, options, Number(id)));
  }

  addJoining(ids: NodeId[], options: NodeOptions): void {
    for (const id of ids) this.nodes.set(id, HarnessNode.joining(id, options, Number(id)));
  }

  /** Handles one Ready of `id` if it has one; returns whether it did. */
  processReady(id: NodeId): boolean {
    const node = this.node(id);
    if (!node.rawNode.hasReady()) return false;
    const ready = node.handleReady();
    this.print(`> ${id} handling Ready`);
    for (const line of describeReady(ready).split('\n')) this.print(`  ${line}`);
    this.inFlight.push(...ready.messages);
    return true;
  }

  /** Delivers (or drops) the in-flight messages addressed to `ids`; returns how many. */
  deliver(ids: NodeId[], drop: boolean): number {
    const targets = new Set(ids);
    const selected = this.inFlight.filter((m) => targets.has(m.to));
    this.inFlight = this.inFlight.filter((m) => !targets.has(m.to));
    for (const m of selected) {
      if (drop) {
        this.print(`dropped: ${describeMessage(m)}`);
        continue;
      }
      this.print(`${describeMessage(m)}`);
      const target = this.nodes.get(m.to);
      if (target === undefined) {
        this.print('  (no such node; dropped)');
        continue;
      }
      try {
        target.step(m);
      } catch (error) {
        this.print(`  error: ${(error as Error).message}`);
      }
    }
    return selected.length;
  }

  /** Processes Readies and delivers messages among `ids` until nothing changes. */
  stabilize(ids: NodeId[]): void {
    for (let round = 0; round < 1000; round++) {
      let progressed = false;
      for (const id of ids) if (this.processReady(id)) progressed = true;
      for (const id of ids) {
        const pending = this.inFlight.some((m) => m.to === id);
        if (pending) {
          this.print(`> ${id} receiving messages`);
          this.deliver([id], false);
          progressed = true;
        }
      }
      if (!progressed) return;
    }
    throw new Error('stabilize: no fixed point after 1000 rounds');
  }
}
