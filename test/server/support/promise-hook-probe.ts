/**
 * Run as its own process (`node --import tsx promise-hook-probe.ts [--control]`): wraps every
 * public way to turn on async context tracking (AsyncLocalStorage run/enterWith, an enabled
 * async hook, V8 promise hooks) before the server is loaded, then starts an embedded member
 * and serves calls over gRPC and in-process: puts, gets, a txn, a lease, a watch, a v3lock.
 * Prints one JSON line: the uses seen, each with the stack that made it. `--control` makes one
 * AsyncLocalStorage.run itself, so the test can see the probe is not blind.
 */
import asyncHooks from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';

const uses: string[] = [];
const record = (what: string): void => {
  uses.push(`${what}\n${new Error().stack?.split('\n').slice(2, 8).join('\n') ?? ''}`);
};

function wrap<T extends object>(target: T, name: keyof T & string, label: string, after?: (result: unknown) => void): void {
  const original = target[name] as unknown as (...args: unknown[]) => unknown;
  (target as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    record(label);
    const result = original.apply(this, args);
    after?.(result);
    return result;
  };
}

wrap(asyncHooks.AsyncLocalStorage.prototype, 'run', 'AsyncLocalStorage.run');
wrap(asyncHooks.AsyncLocalStorage.prototype, 'enterWith', 'AsyncLocalStorage.enterWith');
// Creating a hook costs nothing until it is enabled: record the enable.
const createHook = asyncHooks.createHook;
(asyncHooks as { createHook: typeof createHook }).createHook = (callbacks) => {
  const hook = createHook(callbacks);
  wrap(hook, 'enable', 'async_hooks hook.enable');
  return hook;
};
for (const name of ['onInit', 'onSettled', 'onBefore', 'onAfter', 'createHook'] as const) wrap(v8.promiseHooks, name, `v8.promiseHooks.${name}`);
syncBuiltinESMExports();

if (process.argv.includes('--control')) new asyncHooks.AsyncLocalStorage<number>().run(1, () => undefined);

const { startMember } = await import('../../../src/embed/index.js');
const { Client } = await import('../../../src/index.js');
const { Mutex } = await import('../../../src/lock/index.js');
const { RawClient } = await import('../api/support/raw-client.js');
const { Lock } = await import('../../../src/gen/v3lockpb/v3lock_pb.js');

const dataDir = await mkdtemp(join(tmpdir(), 'conclave-hook-probe-'));
const member = await startMember({
  dataDir, listenClientUrls: ['http://127.0.0.1:0'], listenPeerUrls: ['http://127.0.0.1:0'], initialCluster: 'default=http://127.0.0.1:1',
  initialAdvertisePeerUrls: ['http://127.0.0.1:1'], heartbeatIntervalMs: 20, electionTimeoutMs: 200,
});
const networked = new Client({ endpoints: [...member.clientUrls] });
const inProcess = member.client();
const raw = new RawClient(member.clientUrls[0]!.replace(/^http:\/\//, ''));
try {
  for (const client of [networked, inProcess]) {
    await client.put('probe/a', '1');
    await client.get('probe/a');
    await client.get('probe/a').serializable();
    const watcher = client.watch('probe/w');
    // Created before the put: a watch from "now" sees only writes after its creation (the
    // watch stream and unary calls need not share a connection).
    await watcher.ready();
    await client.put('probe/w', 'x');
    await watcher.next();
    await watcher.return?.();
    const lease = await client.leaseGrant(5);
    await client.put('probe/leased', 'v').lease(lease.id);
    await client.leaseRevoke(lease.id);
    const session = await client.session({ ttlSeconds: 5 });
    const held = await new Mutex(session, 'probe/mutex').lock();
    await held.unlock();
    await session.close();
  }
  const locked = await raw.unary(Lock.method.lock, { name: new TextEncoder().encode('probe/v3lock'), lease: 0n });
  if (!('ok' in locked)) throw new Error(`v3lock: ${locked.error.details}`);
} finally {
  raw.close();
  networked.destroy();
  inProcess.destroy();
  await member.close();
  await rm(dataDir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ uses })}\n`);
process.exit(0);
