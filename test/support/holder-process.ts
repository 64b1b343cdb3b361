/**
 * A separate Node process holding a Mutex or campaigning in an Election, for safety tests that
 * pause it with SIGSTOP. Usage:
 *   node --import tsx holder-process.ts <endpoint> lock <name> <ttlSeconds>
 *   node --import tsx holder-process.ts <endpoint> campaign <name> <value> <ttlSeconds>
 * Prints JSON lines: {"event":"held","token":..,"key":..}, {"event":"leader",..},
 * {"event":"failed","code":..}; on a "report" line on stdin prints the held signal's state.
 */
import { createInterface } from 'node:readline';
import { Client } from '../../src/client/index.js';
import { Election } from '../../src/election/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import type { HeldLock } from '../../src/lock/index.js';

const [endpoint, mode, name, ...rest] = process.argv.slice(2);
const say = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
};

async function main(): Promise<void> {
  const client = new Client({ endpoints: [endpoint!] });
  let held: HeldLock | undefined;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'report') return;
    const reason = held?.signal.reason as { code?: string } | undefined;
    say({ event: 'report', token: held?.token, aborted: held?.signal.aborted ?? false, reason: reason?.code });
  });
  try {
    if (mode === 'lock') {
      const session = await Session.create(client, { ttlSeconds: Number(rest[0]) });
      held = await new Mutex(session, name!).lock();
      say({ event: 'held', token: held.token, key: held.key, lease: session.leaseId });
    } else {
      const session = await Session.create(client, { ttlSeconds: Number(rest[1]) });
      say({ event: 'session', lease: session.leaseId });
      held = await new Election(session, name!).campaign(rest[0]!);
      say({ event: 'leader', token: held.token, key: held.key });
    }
  } catch (error) {
    say({ event: 'failed', code: (error as { code?: string }).code ?? String(error) });
  }
}

void main();
