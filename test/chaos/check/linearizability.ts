/**
 * A linearizability checker for one register per key (values, reads, writes, compare-and-set),
 * after Wing & Gong with Lowe's memoisation, as porcupine does it: walk the history's call and
 * return events in real-time order, try to linearize each pending call, and backtrack when a
 * return is reached whose call could not be placed. A (linearized set, state) pair already
 * explored is not explored again.
 *
 * Indeterminate operations (a timeout, a broken connection: the request may or may not have
 * been applied) have no return event: they may take effect at any point after their call,
 * or never (which is the same as taking effect after everything else).
 */

export type RegisterInput =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: string }
  | { readonly kind: 'cas'; readonly expected: string | null; readonly value: string };

export type RegisterOutput = { readonly value: string | null } | { readonly succeeded: boolean } | { readonly ok: true };

export interface RegisterOp {
  readonly key: string;
  readonly client: number;
  readonly input: RegisterInput;
  /** Undefined for an indeterminate outcome. */
  readonly output: RegisterOutput | undefined;
  /** Monotonic times (any unit) of the call and of the answer; `returnAt` is ignored when indeterminate. */
  readonly callAt: number;
  readonly returnAt: number;
}

export type LinearizabilityResult =
  | { readonly ok: true; readonly explored: number }
  | { readonly ok: false; readonly undecided: boolean; readonly key: string; readonly detail: string; readonly explored: number };

/** Search budget per key: past it the key is reported undecided (a failure, never a pass). */
export const DEFAULT_MAX_STEPS_PER_KEY = 5_000_000;

type State = string | null;

/** One step of the register model: whether `op` may happen in `state`, and the state after. */
function step(state: State, op: RegisterOp): State | typeof REFUSED {
  const { input, output } = op;
  switch (input.kind) {
    case 'read':
      return output !== undefined && 'value' in output && output.value === state ? state : REFUSED;
    case 'write':
      return input.value;
    case 'cas': {
      const matches = state === input.expected;
      if (output === undefined) return matches ? input.value : state;
      const succeeded = 'succeeded' in output && output.succeeded;
      if (succeeded) return matches ? input.value : REFUSED;
      return matches ? REFUSED : state;
    }
  }
}
const REFUSED = Symbol('refused');

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** Checks every key's history separately (a register per key is a local property). */
export function checkRegisters(ops: readonly RegisterOp[], initial: (key: string) => State = () => null, maxStepsPerKey = DEFAULT_MAX_STEPS_PER_KEY): LinearizabilityResult {
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of ops) {
    // A read that did not answer says nothing.
    if (op.output === undefined && op.input.kind === 'read') continue;
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  let explored = 0;
  for (const [key, all] of byKey) {
    const list = withoutUnobservedIndeterminate(all);
    const result = checkKey(key, list, initial(key), maxStepsPerKey);
    explored += result.explored;
    if (!result.ok) return { ...result, explored };
  }
  return { ok: true, explored };
}

/**
 * Drops indeterminate writes and CAS whose value nobody observed (no read returned it, no
 * successful CAS expected it), on a key where no CAS failed. Values are unique per write, so
 * such an operation can always be placed after everything else, where nothing sees it: any
 * linearization of the rest extends to one with it. A failed CAS does observe them (it says
 * the value was not the expected one, which an unseen write explains), so on such a key all
 * are kept. Without this, every timed-out write stays concurrent with all later operations
 * and the search grows exponentially with them.
 */
function withoutUnobservedIndeterminate(ops: readonly RegisterOp[]): RegisterOp[] {
  const observed = new Set<string>();
  for (const op of ops) {
    if (op.output === undefined) continue;
    if (op.input.kind === 'cas' && 'succeeded' in op.output && !op.output.succeeded) return [...ops];
    if (op.input.kind === 'read' && 'value' in op.output && op.output.value !== null) observed.add(op.output.value);
    if (op.input.kind === 'cas' && 'succeeded' in op.output && op.output.succeeded && op.input.expected !== null) observed.add(op.input.expected);
  }
  return ops.filter((op) => op.output !== undefined || op.input.kind === 'read' || observed.has(op.input.value));
}

function checkKey(key: string, ops: readonly RegisterOp[], initial: State, maxSteps: number): LinearizabilityResult {
  const events: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { op: i, isCall: true, time: op.callAt, match: undefined, prev: undefined, next: undefined };
    const ret: Entry = { op: i, isCall: false, time: op.output === undefined ? Number.POSITIVE_INFINITY : op.returnAt, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls before returns at equal times: operations touching at an instant count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: Number.NEGATIVE_INFINITY, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }

  const linearized = new Uint32Array(Math.ceil(ops.length / 32));
  const seen = new Set<string>();
  const stack: Array<{ entry: Entry; state: State }> = [];
  let state = initial;
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > maxSteps) {
      return { ok: false, undecided: true, key, explored: steps, detail: `key ${key}: undecided after ${maxSteps} search steps (${ops.length} operations)` };
    }
    if (entry === undefined) break;
    if (entry.isCall) {
      const next = step(state, ops[entry.op]!);
      if (next !== REFUSED) {
        setBit(linearized, entry.op, true);
        const memo = `${Array.from(linearized).join(',')}|${next === null ? '\u0000' : next}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        setBit(linearized, entry.op, false);
      }
      entry = entry.next;
    } else {
      // A return whose call is still in the list: that operation could not be placed before it.
      if (stack.length === 0) {
        return { ok: false, undecided: false, key, explored: steps, detail: `key ${key}: not linearizable; ${describe(ops[entry.op]!)} cannot be placed (${ops.length} operations)` };
      }
      const top = stack.pop()!;
      state = top.state;
      setBit(linearized, top.entry.op, false);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ok: true, explored: steps };
}

function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

function setBit(bits: Uint32Array, index: number, on: boolean): void {
  const word = index >>> 5;
  const mask = 1 << (index & 31);
  bits[word] = on ? bits[word]! | mask : bits[word]! & ~mask;
}

export function describe(op: RegisterOp): string {
  const { input, output } = op;
  const shown = output === undefined ? '?' : 'value' in output ? JSON.stringify(output.value) : 'succeeded' in output ? String(output.succeeded) : 'ok';
  const what = input.kind === 'read' ? 'read' : input.kind === 'write' ? `write ${JSON.stringify(input.value)}` : `cas ${JSON.stringify(input.expected)}->${JSON.stringify(input.value)}`;
  return `client ${op.client} ${what} = ${shown} [${op.callAt.toFixed(1)}, ${op.output === undefined ? 'never' : op.returnAt.toFixed(1)}]`;
}
