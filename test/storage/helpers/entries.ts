import type { Entry } from '../../../src/raft/types.js';

/** A deterministic entry whose payload encodes its index and term, so a wrong read is visible. */
export function makeEntry(index: number, term = 1, dataBytes = 40): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type: 'normal', data };
}

export function makeEntries(from: number, count: number, term = 1, dataBytes = 40): Entry[] {
  return Array.from({ length: count }, (_, i) => makeEntry(from + i, term, dataBytes));
}

export const CONF = Object.freeze({ voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
