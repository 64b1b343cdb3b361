/**
 * The command language of the golden scripts. One command per line:
 *
 *   add-nodes ids=(1 2 3) [voters=(…)] [learners=(…)] [joining] [prevote=false] [checkquorum=false]
 *             [election-ticks=N] [max-inflight=N] [max-message-bytes=N]
 *   campaign ID                      start an election at ID
 *   propose ID DATA                  propose DATA at ID
 *   propose-conf-change ID [transition=auto|joint-implicit|joint-explicit] vN lN rN …
 *                                    (vN add voter, lN add learner, rN remove; none = leave joint)
 *   read-index ID CONTEXT            ask ID for a linearizable read index
 *   transfer-leadership ID to=T      ask ID (the leader) to hand leadership to T
 *   tick ID [N]                      N ticks (default 1)
 *   tick-election ID                 tick until ID's election timeout may have passed (2x election ticks)
 *   process-ready ID…                handle one Ready of each
 *   deliver-msgs ID… [drop]          deliver (or drop) the messages in flight to each
 *   stabilize [ID…]                  process and deliver until nothing changes (default: all)
 *   snapshot ID [keep=N]             ID snapshots at its applied index and compacts (keeping N entries)
 *   restart ID                       crash and restart ID from what it persisted
 *   report-unreachable ID PEER       tell ID that PEER cannot be reached
 *   status ID                        print role, term, commit, applied, config, progress
 *   raft-log ID                      print the entries ID has persisted
 */
import type { ConfChangeSingle, ConfChangeTransition, NodeId } from '../../../src/raft/index.js';
import { describeConfState, describeEntry } from '../../../src/raft/index.js';
import type { NodeOptions } from '../support/harness-node.js';
import type { InteractionEnv } from './env.js';

interface Parsed {
  readonly name: string;
  readonly positional: string[];
  readonly named: Map<string, string>;
  readonly flags: Set<string>;
}

/** Bare words that are flags; every other bare word is a positional argument. */
const FLAGS = new Set(['joining', 'drop']);

export function parseCommand(line: string): Parsed {
  const tokens: string[] = [];
  const pattern = /(\S+=\([^)]*\))|(\S+)/g;
  for (const match of line.matchAll(pattern)) tokens.push(match[0]);
  const [name, ...rest] = tokens;
  const positional: string[] = [];
  const named = new Map<string, string>();
  const flags = new Set<string>();
  for (const token of rest) {
    const eq = token.indexOf('=');
    if (eq > 0) named.set(token.slice(0, eq), token.slice(eq + 1));
    else if (FLAGS.has(token)) flags.add(token);
    else positional.push(token);
  }
  return { name: name ?? '', positional, named, flags };
}

function idList(text: string | undefined): NodeId[] {
  if (text === undefined) return [];
  const inner = text.replace(/^\(|\)$/g, '').trim();
  return inner === '' ? [] : inner.split(/\s+/).map((t) => BigInt(t));
}

function id(text: string | undefined): NodeId {
  if (text === undefined) throw new Error('missing node id');
  return BigInt(text);
}

function nodeOptions(cmd: Parsed): NodeOptions {
  const number = (key: string): number | undefined => (cmd.named.has(key) ? Number(cmd.named.get(key)) : undefined);
  const options: Record<string, unknown> = {
    preVote: cmd.named.get('prevote') !== 'false',
    checkQuorum: cmd.named.get('checkquorum') !== 'false',
  };
  if (number('election-ticks') !== undefined) options.electionTicks = number('election-ticks');
  if (number('max-inflight') !== undefined) options.maxInflightMessages = number('max-inflight');
  if (number('max-message-bytes') !== undefined) options.maxMessageBytes = number('max-message-bytes');
  return options as NodeOptions;
}

const encoder = new TextEncoder();

export function runCommand(env: InteractionEnv, line: string): void {
  const cmd = parseCommand(line);
  const first = cmd.positional[0];
  switch (cmd.name) {
    case 'add-nodes': {
      const ids = idList(cmd.named.get('ids'));
      if (cmd.flags.has('joining')) {
        env.addJoining(ids, nodeOptions(cmd));
      } else {
        const voters = cmd.named.has('voters') ? idList(cmd.named.get('voters')) : ids;
        env.addBootstrapped(ids, voters, idList(cmd.named.get('learners')), nodeOptions(cmd));
      }
      for (const nodeId of ids) env.print(`node ${nodeId}: ${describeConfState(env.node(nodeId).confState)}`);
      return;
    }
    case 'campaign':
      env.node(id(first)).rawNode.campaign();
      return;
    case 'propose':
      guarded(env, () => env.node(id(first)).rawNode.propose(encoder.encode(cmd.positional[1] ?? '')));
      return;
    case 'propose-conf-change': {
      const changes: ConfChangeSingle[] = cmd.positional.slice(1).map((token) => {
        const nodeId = BigInt(token.slice(1));
        const type = token[0] === 'v' ? 'addVoter' : token[0] === 'l' ? 'addLearner' : token[0] === 'r' ? 'removeVoter' : undefined;
        if (type === undefined) throw new Error(`bad change ${token}`);
        return { type, nodeId };
      });
      const transition = (cmd.named.get('transition') ?? 'auto') as ConfChangeTransition;
      guarded(env, () => env.node(id(first)).rawNode.proposeConfChange({ transition, changes, context: new Uint8Array(0) }));
      return;
    }
    case 'read-index':
      guarded(env, () => env.node(id(first)).rawNode.readIndex(encoder.encode(cmd.positional[1] ?? '')));
      return;
    case 'transfer-leadership':
      env.node(id(first)).rawNode.transferLeadership(id(cmd.named.get('to')));
      return;
    case 'tick': {
      const node = env.node(id(first));
      const count = Number(cmd.positional[1] ?? '1');
      for (let i = 0; i < count; i++) node.rawNode.tick();
      return;
    }
    case 'tick-election': {
      const node = env.node(id(first));
      for (let i = 0; i < 2 * node.rawNode.raft.electionTicks; i++) node.rawNode.tick();
      return;
    }
    case 'process-ready':
      for (const text of cmd.positional) env.processReady(id(text));
      return;
    case 'deliver-msgs':
      for (const text of cmd.positional) env.deliver([id(text)], cmd.flags.has('drop'));
      return;
    case 'stabilize':
      env.stabilize(cmd.positional.length > 0 ? cmd.positional.map(id) : [...env.nodes.keys()]);
      return;
    case 'snapshot': {
      const node = env.node(id(first));
      const snapshot = node.snapshotAndCompact(Number(cmd.named.get('keep') ?? '0'));
      env.print(snapshot === undefined ? 'no new snapshot' : `snapshot at ${snapshot.metadata.index}, log now [${node.storage.firstIndex()}, ${node.storage.lastIndex()}]`);
      return;
    }
    case 'restart':
      env.node(id(first)).start();
      env.print(`node ${first} restarted`);
      return;
    case 'report-unreachable':
      env.node(id(first)).rawNode.reportUnreachable(id(cmd.positional[1]));
      return;
    case 'status':
      printStatus(env, id(first));
      return;
    case 'raft-log': {
      const node = env.node(id(first));
      const { storage } = node;
      if (storage.lastIndex() < storage.firstIndex()) env.print(`log is empty: first index ${storage.firstIndex()}, last index ${storage.lastIndex()}`);
      else for (const entry of storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Infinity)) env.print(describeEntry(entry));
      return;
    }
    default:
      throw new Error(`unknown command: ${cmd.name}`);
  }
}

function guarded(env: InteractionEnv, action: () => void): void {
  try {
    action();
  } catch (error) {
    env.print(`error: ${(error as Error).message}`);
  }
}

function printStatus(env: InteractionEnv, nodeId: NodeId): void {
  const node = env.node(nodeId);
  const status = node.rawNode.status();
  env.print(`${nodeId}: ${status.softState.role} term=${status.hardState.term} vote=${status.hardState.vote} lead=${status.softState.leader} commit=${status.hardState.commit} applied=${status.applied} ${describeConfState(status.confState)}`);
  if (status.progress !== undefined) {
    const tracker = node.rawNode.raft.tracker;
    for (const [peer, pr] of [...tracker.progress].sort((a, b) => (a[0] < b[0] ? -1 : 1))) env.print(`  ${peer}: ${pr.describe()}`);
  }
}
