/**
 * One seeded simulation run: a cluster of 3 to 7 raft nodes (the production RawNode over
 * MemoryStorage standing in for disk) on a simulated network, with clients proposing and
 * reading throughout, while faults are injected: message loss, duplication, delay and
 * reordering; partitions, one-way ones included; crashes that lose everything not persisted,
 * including crashes between persisting a Ready and sending its messages; restarts; snapshots
 * and log compaction; membership changes (learners added and promoted, voters removed, joint
 * changes); leadership transfers. Every parameter is drawn from the seed, so a failure replays
 * exactly with the same seed.
 *
 * After the fault phase everything heals, and liveness is checked: within LIVENESS_TICKS a
 * leader whose voters are all up is elected and a proposal made then commits on every member.
 */
import { SeededRandom } from '../../src/base/random.js';
import type { ConfChange, ConfChangeSingle, Entry, NodeId, RaftTestingBugs } from '../../src/raft/index.js';
import { ProposalDroppedError } from '../../src/raft/index.js';
import type { NodeOptions } from '../raft/support/harness-node.js';
import { HarnessNode } from '../raft/support/harness-node.js';
import type { Violation } from './checker.js';
import { InvariantChecker } from './checker.js';
import { CALM_NETWORK, SimNetwork } from './network.js';
import { SimAutoPromotion } from './auto-promotion.js';

/** After healing, a leader must be elected and a proposal committed everywhere within this many ticks. */
export const LIVENESS_TICKS = 400;
/** A client re-proposes its marker after this many ticks without seeing it committed. */
const MARKER_RETRY_TICKS = 50;
/** Most nodes ever in the cluster at once (members and joining learners). */
export const MAX_NODES = 7;
/** Most Ready rounds per tick (each round lets every node handle one Ready and deliver due messages). */
const ROUNDS_PER_TICK = 8;
/** A member that applied its own removal asks its peers whether they refuse it this often. */
const PROBE_TICKS = 10;

export interface SimulationOptions {
  readonly seed: number;
  /** Ticks of the fault phase; drawn from the seed when not given. */
  readonly faultTicks?: number;
  readonly bugs?: RaftTestingBugs;
  /** Record a line per notable event (for replaying a failure by hand). */
  readonly trace?: boolean;
  /** Learner auto-promotion running on the leader; drawn from the seed (half the seeds) when not given. */
  readonly autoPromote?: boolean;
}

export interface SimulationResult {
  readonly seed: number;
  readonly violation?: Violation;
  readonly steps: number;
  readonly ticks: number;
  readonly nodes: number;
  readonly checks: number;
  readonly committedEntries: number;
  readonly leaders: number;
  readonly readsChecked: number;
  readonly crashes: number;
  readonly confChanges: number;
  readonly autoPromotions: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly trace: string[];
}

interface SimNode {
  readonly harness: HarnessNode;
  down: boolean;
  /** Stopped because a peer refused it as removed, as a real member stops. */
  removed: boolean;
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const random = new SeededRandom(options.seed);
  const checker = new InvariantChecker();
  const network = new SimNetwork(random.fork());
  const trace: string[] = [];
  const log = (line: string): void => {
    if (options.trace === true) trace.push(`[step ${checker.step}] ${line}`);
  };

  const initialCount = 3 + random.int(5);
  const nodeOptions: NodeOptions = {
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: random.chance(0.75),
    checkQuorum: random.chance(0.75),
    // Half the seeds run the server's mode (not drawn from `random`: other seeds keep their schedules).
    leaderAcksAfterPersist: options.seed % 2 === 0,
    maxInflightMessages: 1 + random.int(8),
    maxMessageBytes: 16 + random.int(256),
    testingBugs: options.bugs ?? {},
  };
  const ids = Array.from({ length: initialCount }, (_, i) => BigInt(i + 1));
  const nodes = new Map<NodeId, SimNode>();
  for (const id of ids) {
    nodes.set(id, { harness: HarnessNode.bootstrap(id, ids, [], nodeOptions, options.seed * 31 + Number(id)), down: false, removed: false });
  }
  let nextId = BigInt(initialCount + 1);
  let tick = 0;
  let proposals = 0;
  let reads = 0;
  let crashes = 0;
  let confChanges = 0;
  /** The newest configuration any node applied, and at which index. */
  let newestConfig = { index: 0, voters: new Set(ids), learners: new Set<NodeId>() };

  // Drawn from its own generator, so seeds without auto-promotion keep their old schedules.
  const autoPromote = options.autoPromote ?? new SeededRandom(options.seed * 7 + 3).chance(0.5);
  const autoPromotion = autoPromote ? new SimAutoPromotion({
    leader: () => leaders().sort((a, b) => b.harness.rawNode.raft.term - a.harness.rawNode.raft.term)[0]?.harness.rawNode,
    fail: (property, detail) => checker.fail(property, detail),
    proposed: (line) => log(line),
  }) : undefined;

  const live = (): SimNode[] => [...nodes.values()].filter((n) => !n.down && !n.removed);
  const pick = <T>(items: T[]): T | undefined => (items.length === 0 ? undefined : items[random.int(items.length)]);
  const leaders = (): SimNode[] => live().filter((n) => n.harness.rawNode.raft.role === 'leader');

  /** Checks the invariants after a step; only `changed` can have changed, when given. */
  const afterStep = (changed?: SimNode): void => {
    checker.step += 1;
    if (changed !== undefined) checker.checkAll([changed.harness]);
    else checker.checkAll([...nodes.values()].filter((n) => !n.removed).map((n) => n.harness));
  };

  const onApplied = (harness: HarnessNode, entry: Entry): void => {
    checker.onApplied(harness, entry);
    if (entry.type !== 'confChange' || entry.index <= newestConfig.index) return;
    const cs = harness.confState;
    newestConfig = { index: entry.index, voters: new Set([...cs.voters, ...cs.votersOutgoing]), learners: new Set([...cs.learners, ...cs.learnersNext]) };
    log(`config at ${entry.index}: voters=${[...newestConfig.voters].join(',')} learners=${[...newestConfig.learners].join(',')}`);
  };
  // A member that applied its own removal keeps running (it answers votes, which carry its
  // commit index: the remaining voters may not yet know that the removal committed) until a
  // peer refuses it as removed, as the server's does. Besides refusals of its raft messages (see
  // deliverDue), it probes its peers every PROBE_TICKS over the network, as the server's
  // transport does with an empty batch. A removed leader first hands leadership to a remaining
  // voter, so refusals stop only followers.
  const probeFromRemoved = (): void => {
    if (tick % PROBE_TICKS !== 0) return;
    for (const [id, node] of nodes) {
      if (node.removed || node.down || !node.harness.isSelfRemoved() || node.harness.rawNode.raft.role === 'leader') continue;
      for (const [peerId, peer] of nodes) {
        if (peerId === id || peer.removed || peer.down || network.isBlocked(id, peerId) || network.isBlocked(peerId, id)) continue;
        if (peer.harness.removedIds.has(id)) {
          node.removed = true;
          log(`node ${id} probed ${peerId}, which refused it as removed; it stops`);
          break;
        }
      }
    }
  };

  const handleReady = (node: SimNode, crashAfterPersist: boolean): void => {
    const harness = node.harness;
    const ready = harness.rawNode.ready();
    harness.persistReady(ready);
    checker.onPersisted(harness, ready);
    if (crashAfterPersist) {
      crash(node, 'after persisting, before sending');
      return;
    }
    for (const m of ready.messages) {
      // A real transport reports a snapshot it failed to send; Raft then probes again.
      if (!network.send(m, tick) && m.type === 'snap') harness.rawNode.reportSnapshot(m.to, true);
    }
    harness.finishReady(ready, (h, entry) => onApplied(h, entry));
    for (const rs of ready.readStates) checker.onReadState(harness, rs);
  };

  const crash = (node: SimNode, why: string): void => {
    node.down = true;
    crashes += 1;
    log(`node ${node.harness.id} crashed (${why})`);
  };

  const restart = (node: SimNode): void => {
    node.down = false;
    node.harness.start();
    checker.onRestart(node.harness.id);
    log(`node ${node.harness.id} restarted at term ${node.harness.rawNode.raft.term}`);
  };

  const deliverDue = (): void => {
    const { deliver, lost } = network.takeDue(tick, (id) => nodes.get(id)?.down !== false || nodes.get(id)?.removed === true);
    for (const m of lost) {
      // The transport of a real member notices failed snapshot sends and reports them.
      if (m.type === 'snap') {
        const sender = nodes.get(m.from);
        if (sender !== undefined && !sender.down && !sender.removed) sender.harness.rawNode.reportSnapshot(m.to, true);
      }
    }
    for (const m of deliver) {
      const target = nodes.get(m.to)!;
      if (target.harness.removedIds.has(m.from)) {
        // The peer refuses a removed member, which learns that it was removed and stops, as an
        // etcd member does when its peers answer it "member removed".
        const sender = nodes.get(m.from);
        // A leader keeps going until it has handed leadership off (see probeFromRemoved).
        if (sender !== undefined && !sender.removed && sender.harness.rawNode.raft.role !== 'leader') {
          sender.removed = true;
          log(`node ${m.from} refused by ${m.to} as removed; it stops`);
        }
        continue;
      }
      target.harness.step(m);
      if (m.type === 'snap') {
        const sender = nodes.get(m.from);
        if (sender !== undefined && !sender.down && !sender.removed) sender.harness.rawNode.reportSnapshot(m.to, false);
      }
      // A snapshot report changes the sender too.
      if (m.type === 'snap') afterStep();
      else afterStep(target);
      if (checker.violation !== undefined) return;
    }
  };

  const processReadies = (crashProbability: number): void => {
    for (let round = 0; round < ROUNDS_PER_TICK; round++) {
      let progressed = false;
      const order = live();
      shuffle(order, random);
      for (const node of order) {
        if (node.down || node.removed || !node.harness.rawNode.hasReady()) continue;
        handleReady(node, random.chance(crashProbability));
        progressed = true;
        afterStep(node);
        if (checker.violation !== undefined) return;
      }
      deliverDue();
      if (checker.violation !== undefined || !progressed) return;
    }
  };

  const tickAll = (): void => {
    tick += 1;
    probeFromRemoved();
    for (const node of live()) node.harness.rawNode.tick();
    afterStep();
  };

  const propose = (node: SimNode, data: string): boolean => {
    try {
      node.harness.rawNode.propose(new TextEncoder().encode(data));
      return true;
    } catch (error) {
      if (error instanceof ProposalDroppedError) return false;
      throw error;
    }
  };

  const proposeConfChange = (): void => {
    const leader = pick(leaders());
    if (leader === undefined) return;
    const cs = leader.harness.rawNode.raft.tracker.confState();
    const voters = [...cs.voters];
    const learners = [...cs.learners];
    const changes: ConfChangeSingle[] = [];
    let transition: ConfChange['transition'] = 'auto';
    if (cs.votersOutgoing.length > 0) {
      // An explicit joint configuration must be left by the application.
      changes.length = 0;
    } else {
      const choice = random.int(4);
      if (choice === 0 && nodes.size < MAX_NODES) {
        const id = nextId;
        nextId += 1n;
        nodes.set(id, { harness: HarnessNode.joining(id, nodeOptions, options.seed * 31 + Number(id)), down: false, removed: false });
        changes.push({ type: 'addLearner', nodeId: id });
      } else if (choice === 1 && learners.length > 0) {
        changes.push({ type: 'addVoter', nodeId: pick(learners)! });
      } else if (choice === 2 && voters.length > 1) {
        changes.push({ type: 'removeVoter', nodeId: pick(voters)! });
      } else if (choice === 3 && voters.length > 1) {
        transition = random.chance(0.5) ? 'joint-implicit' : 'joint-explicit';
        changes.push({ type: 'removeVoter', nodeId: pick(voters)! });
        const learner = pick(learners);
        if (learner !== undefined) changes.push({ type: 'addVoter', nodeId: learner });
        else changes.push({ type: 'addLearner', nodeId: pick(voters)! });
      } else {
        return;
      }
    }
    try {
      leader.harness.rawNode.proposeConfChange({ transition, changes, context: new Uint8Array(0) });
      confChanges += 1;
      log(`leader ${leader.harness.id} proposed ${transition} [${changes.map((c) => `${c.type} ${c.nodeId}`).join(', ')}]`);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      // A refused addition leaves a node nobody will add: it stays idle, never a member.
    }
  };

  const partition = (): void => {
    const all = [...nodes.keys()];
    if (random.chance(0.5)) {
      // Split in two groups.
      const side = new Set(all.filter(() => random.chance(0.5)));
      for (const a of all) for (const b of all) if (side.has(a) !== side.has(b)) network.block(a, b);
      log(`partition {${[...side].join(',')}} | rest`);
    } else {
      // A few one-way links.
      for (let i = 0; i < 1 + random.int(3); i++) {
        const a = pick(all)!;
        const b = pick(all)!;
        if (a !== b) network.block(a, b);
        log(`one-way partition ${a} -> ${b}`);
      }
    }
  };

  try {
    // ---- the fault phase ----
    const faultTicks = options.faultTicks ?? 150 + random.int(250);
    network.faults = { dropProbability: random.float() * 0.1, duplicateProbability: random.float() * 0.05, maxDelayTicks: random.int(3) };
    const crashAfterPersistProbability = random.chance(0.5) ? 0.002 : 0;
    for (let t = 0; t < faultTicks && checker.violation === undefined; t++) {
      if (random.chance(0.02)) partition();
      if (random.chance(0.03) && network.partitionCount() > 0) {
        network.heal();
        log('partitions healed');
      }
      if (random.chance(0.01)) {
        const victim = pick(live());
        if (victim !== undefined) crash(victim, 'between steps');
      }
      for (const node of nodes.values()) if (node.down && !node.removed && random.chance(0.05)) restart(node);
      if (random.chance(0.02)) {
        network.faults = { dropProbability: random.float() * 0.2, duplicateProbability: random.float() * 0.1, maxDelayTicks: random.int(6) };
      }
      if (random.chance(0.015)) proposeConfChange();
      if (random.chance(0.02)) {
        const node = pick(live());
        const snapshot = node?.harness.snapshotAndCompact(random.int(5));
        if (snapshot !== undefined) log(`node ${node!.harness.id} snapshot at ${snapshot.metadata.index}`);
      }
      if (random.chance(0.005)) {
        const leader = pick(leaders());
        const target = pick(live());
        if (leader !== undefined && target !== undefined) leader.harness.rawNode.transferLeadership(target.harness.id);
      }
      const proposer = pick(live());
      if (proposer !== undefined && random.chance(0.6)) {
        // Some proposals are larger than maxMessageBytes, so appends often carry a single entry
      // (the situations of the paper's Figure 8 need that).
      for (let i = 0; i < 1 + random.int(3); i++) {
        const padding = random.chance(0.3) ? '.'.repeat(random.int(400)) : '';
        propose(proposer, `p${proposals++}${padding}`);
      }
      }
      const reader = pick(live());
      if (reader !== undefined && random.chance(0.15)) {
        const context = `r${reads++}`;
        try {
          reader.harness.rawNode.readIndex(new TextEncoder().encode(context));
          checker.onReadRequested(context);
        } catch (error) {
          if (!(error instanceof ProposalDroppedError)) throw error;
        }
      }
      tickAll();
      autoPromotion?.tick();
      processReadies(crashAfterPersistProbability);
    }

    // ---- heal, then liveness ----
    let livenessTicks = 0;
    if (checker.violation === undefined) {
      network.heal();
      network.faults = CALM_NETWORK;
      for (const node of nodes.values()) if (node.down && !node.removed) restart(node);
      log('healed: all partitions removed, all nodes up, network calm');
      const marker = `marker-${options.seed}`;
      let markerLeader: SimNode | undefined;
      let markerTick = 0;
      let done = false;
      for (; livenessTicks < LIVENESS_TICKS && checker.violation === undefined && !done; livenessTicks++) {
        // An explicit joint configuration left behind by the fault phase is left now.
        const leader = pick(leaders());
        if (leader !== undefined && leader.harness.rawNode.raft.tracker.config.votersOutgoing.size > 0 && !leader.harness.rawNode.raft.tracker.config.autoLeave) {
          try {
            leader.harness.rawNode.proposeConfChange({ transition: 'auto', changes: [], context: new Uint8Array(0) });
          } catch (error) {
            if (!(error instanceof ProposalDroppedError)) throw error;
          }
        }
        // The client proposes a marker and, like a real client, proposes it again when the
        // leader that took it is gone or it has not committed after a while.
        const retryDue = markerLeader !== undefined && (livenessTicks - markerTick >= MARKER_RETRY_TICKS || markerLeader.harness.rawNode.raft.role !== 'leader');
        if (leader !== undefined && (markerLeader === undefined || retryDue) && isStableLeader(leader)) {
          if (propose(leader, marker)) {
            markerLeader = leader;
            markerTick = livenessTicks;
            log(`marker proposed at leader ${leader.harness.id}`);
          }
        }
        tickAll();
        processReadies(0);
        if (markerLeader !== undefined) done = markerEverywhere(marker);
      }
      if (!done && checker.violation === undefined) {
        const states = [...nodes.values()].map((n) => describeNode(n));
        checker.violation = {
          property: 'Liveness',
          detail: `no leader with a committed proposal on every member within ${LIVENESS_TICKS} ticks after healing (${states.join(' ')})`,
          step: checker.step,
        };
      }
    }
  } catch (error) {
    // An assertion inside Raft (or the harness noticing a double apply) is a violation too.
    checker.violation ??= { property: 'Invariant Assertion', detail: (error as Error).stack ?? String(error), step: checker.step };
  }

  function isStableLeader(leader: SimNode): boolean {
    const voters = leader.harness.rawNode.raft.tracker.voterIds();
    return voters.every((id) => nodes.get(id) !== undefined && !nodes.get(id)!.down);
  }

  function markerEverywhere(marker: string): boolean {
    const leader = pick(leaders());
    if (leader === undefined) return false;
    const members = leader.harness.rawNode.raft.tracker.memberIds();
    const bytes = new TextEncoder().encode(marker);
    return members.every((id) => {
      const node = nodes.get(id);
      if (node === undefined || node.down) return false;
      return node.harness.appliedLog.some((e) => Buffer.from(e.data).equals(bytes));
    });
  }

  const stats = checker.stats();
  return {
    seed: options.seed,
    ...(checker.violation === undefined ? {} : { violation: checker.violation }),
    steps: checker.step,
    ticks: tick,
    nodes: nodes.size,
    checks: stats.checks,
    committedEntries: stats.committedEntries,
    leaders: stats.leaders,
    readsChecked: stats.readsChecked,
    crashes,
    confChanges,
    autoPromotions: autoPromotion?.promotions ?? 0,
    messagesSent: network.sent,
    messagesDropped: network.dropped,
    trace,
  };
}

function describeNode(node: SimNode): string {
  const r = node.harness.rawNode.raft;
  const cs = r.tracker.confState();
  const config = `v=${cs.voters.join(',')}${cs.votersOutgoing.length > 0 ? `&&${cs.votersOutgoing.join(',')}` : ''}${cs.learners.length > 0 ? ` l=${cs.learners.join(',')}` : ''}`;
  const state = node.removed ? 'removed' : node.down ? 'down' : r.role;
  const progress = r.role === 'leader' ? ` progress={${[...r.tracker.progress].map(([id, pr]) => `${id}:${pr.describe()}`).join('; ')}}` : '';
  return `[${node.harness.id} ${state} removedIds=${[...node.harness.removedIds].join(",")} term=${r.term} vote=${r.vote} lead=${r.lead} commit=${r.raftLog.committed} applied=${r.raftLog.applied} last=${r.raftLog.lastIndex()}/${r.raftLog.lastTerm()} first=${r.raftLog.firstIndex()} ${config}${progress}]`;
}

function shuffle<T>(items: T[], random: SeededRandom): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
