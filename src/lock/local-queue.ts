/**
 * In-process queueing in front of a distributed acquire. Two callers sharing one session map to
 * the same etcd key, so the server cannot tell them apart: they must queue here first. One
 * async-mutex per (session, name), dropped when nobody holds or waits for it.
 */
import { Mutex as AsyncMutex } from 'async-mutex';
import { raceSignal } from './wait.js';

interface Slot {
  readonly mutex: AsyncMutex;
  users: number;
}

const slotsBySession = new WeakMap<object, Map<string, Slot>>();

function slotFor(session: object, name: string): { slot: Slot; slots: Map<string, Slot> } {
  let slots = slotsBySession.get(session);
  if (slots === undefined) {
    slots = new Map();
    slotsBySession.set(session, slots);
  }
  let slot = slots.get(name);
  if (slot === undefined) {
    slot = { mutex: new AsyncMutex(), users: 0 };
    slots.set(name, slot);
  }
  return { slot, slots };
}

/** True when a caller in this process holds or waits for (session, name). */
export function isLocallyBusy(session: object, name: string): boolean {
  return slotsBySession.get(session)?.get(name)?.mutex.isLocked() ?? false;
}

/**
 * Waits for the local turn on (session, name). Resolves with the release function; rejects
 * with `signal.reason` if the signal aborts first (the turn, once it comes, is passed on).
 */
export async function acquireLocal(session: object, name: string, signal: AbortSignal): Promise<() => void> {
  const { slot, slots } = slotFor(session, name);
  slot.users += 1;
  let released = false;
  const leave = (): void => {
    if (released) return;
    released = true;
    slot.users -= 1;
    if (slot.users === 0 && slots.get(name) === slot) slots.delete(name);
  };
  const turn = slot.mutex.acquire();
  try {
    const release = await raceSignal(turn, signal);
    return () => {
      if (released) return;
      release();
      leave();
    };
  } catch (error) {
    void turn.then((release) => {
      release();
      leave();
    });
    throw error;
  }
}
