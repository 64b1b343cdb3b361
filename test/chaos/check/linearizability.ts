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
    const result = checkKey(key, list, initial(key), maxStepsPerKey, interchangeable(list));
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

/** The state an unobserved value leaves: no read returns it and no CAS expects it. */
const UNOBSERVED = '\u0000unobserved';

/**
 * Where withoutUnobservedIndeterminate keeps them (a key where a CAS failed), indeterminate
 * writes and CAS whose value nobody observed still differ only in their call time: the value
 * they leave is one that no read returns and no CAS expects, i.e. the same state UNOBSERVED
 * (values are unique per write, and a client only expects a value it saw answered). Two such
 * operations with the same kind and expected value are interchangeable, and neither has a
 * return: in any linearization, the one called earlier can take the place of the one called
 * later (it was called no later), and the later one the earlier's place or none. So the search
 * places the members of such a class in call order only; the states it skips are swaps of ones
 * it explores. Returns, per operation, its class (undefined: not interchangeable) and the ops
 * with the unobserved values replaced by UNOBSERVED.
 */
function interchangeable(ops: readonly RegisterOp[]): { classes: Array<number | undefined>; ops: RegisterOp[] } {
  const observed = new Set<string>();
  for (const op of ops) {
    // Any CAS's expected value, answered or not: the replaced value must be one no CAS compares with.
    if (op.input.kind === 'cas' && op.input.expected !== null) observed.add(op.input.expected);
    if (op.output !== undefined && op.input.kind === 'read' && 'value' in op.output && op.output.value !== null) observed.add(op.output.value);
  }
  const ids = new Map<string, number>();
  const classes: Array<number | undefined> = [];
  const canonical = ops.map((op) => {
    const { input } = op;
    if (op.output !== undefined || input.kind === 'read' || observed.has(input.value)) {
      classes.push(undefined);
      return op;
    }
    const signature = input.kind === 'write' ? 'w' : `c${input.expected === null ? '' : `=${input.expected}`}`;
    let id = ids.get(signature);
    if (id === undefined) ids.set(signature, (id = ids.size));
    classes.push(id);
    return { ...op, input: { ...input, value: UNOBSERVED } };
  });
  return { classes, ops: canonical };
}

function checkKey(key: string, original: readonly RegisterOp[], initial: State, maxSteps: number, symmetry: { classes: ReadonlyArray<number | undefined>; ops: readonly RegisterOp[] }): LinearizabilityResult {
  const { ops, classes } = symmetry;
  // Each class's members in call order, and how many of them are placed (always the first ones).
  const members: number[][] = [];
  ops.forEach((op, i) => {
    const c = classes[i];
    if (c !== undefined) (members[c] ??= []).push(i);
  });
  for (const list of members) list.sort((a, b) => ops[a]!.callAt - ops[b]!.callAt || a - b);
  const placed = members.map(() => 0);
  const mayPlace = (i: number): boolean => {
    const c = classes[i];
    return c === undefined || members[c]![placed[c]!] === i;
  };
  const setPlaced = (i: number, delta: number): void => {
    const c = classes[i];
    if (c !== undefined) placed[c]! += delta;
  };
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
      const next = mayPlace(entry.op) ? step(state, ops[entry.op]!) : REFUSED;
      if (next !== REFUSED) {
        setBit(linearized, entry.op, true);
        const memo = `${Array.from(linearized).join(',')}|${next === null ? '\u0000' : next}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          setPlaced(entry.op, 1);
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
        return { ok: false, undecided: false, key, explored: steps, detail: `key ${key}: not linearizable; ${describe(original[entry.op]!)} cannot be placed (${ops.length} operations)` };
      }
      const top = stack.pop()!;
      state = top.state;
      setPlaced(top.entry.op, -1);
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
