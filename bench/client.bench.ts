/**
 * Client benchmark: the cost of a call on the client side, our SDK vs the `etcd3` npm package vs
 * a raw grpc-js client (the floor the transport sets), all against the same real etcd 3.4 member
 * started here, in the same run. Each library runs in its own process (bench/support/
 * client-worker.ts), so the CPU a row reports (process.cpuUsage over the measured window,
 * divided by the ops in it) is that library's alone. Rows run one library at a time, the
 * libraries interleaved row by row, so a change in the machine's load hits all three alike.
 * A last row runs `member.client()` against a Conclave member embedded in the worker process
 * (no network): its CPU is client + server.
 *
 *   npm run bench -- client                 # 3 rounds of 1 s warm-up + 3 s per row and library (medians)
 *   npm run bench -- client --quick         # 2 rounds of 0.5 s + 1.5 s
 *   npm run bench -- client --repeat=5 --seconds=2
 *   npm run bench -- client --one-process   # all libraries in one process, alternating 0.5 s slices
 *   npm run bench -- client --row=get-64,put-64 --kind=conclave,etcd3 --json=/tmp/client.json
 *   npm run bench -- client --kind=conclave --row=get-64 --profile=/tmp/prof
 *   npx tsx bench/support/profile-summary.ts /tmp/prof
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_LOADER_ARGS, RUNTIME_DESCRIPTION, scriptPath } from './support/runtime.js';
import { Client } from '../src/client/index.js';
import { clientRows, GET_KEY, runInterleaved, slotKey, VALUE } from './support/client-worker.js';
import type { ClientKind, ClientRow, RowRequest, RowResult } from './support/client-worker.js';
import { loadAverage } from './support/measure.js';
import { startSystem } from './support/systems.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
const quick = args.includes('--quick');
const warmupMs = quick ? 500 : 1_000;
const measureMs = Number(option('seconds') ?? (quick ? 1.5 : 3)) * 1_000;
// Each row runs this many rounds (libraries interleaved in every round); a cell is the median
// round, which on a shared, busy machine is steadier than any single measurement.
const repeat = Number(option('repeat') ?? (quick ? 2 : 3));
const rows = (option('row')?.split(',') ?? clientRows) as ClientRow[];
const networkKinds = (option('kind')?.split(',') ?? ['raw', 'etcd3', 'conclave']).filter((k) => k !== 'embedded') as ClientKind[];
const withEmbedded = option('kind') === undefined || option('kind')!.split(',').includes('embedded');
const profileDir = option('profile');
// Every library in this process, alternating in short slices: same load for all (see runInterleaved).
const oneProcess = args.includes('--one-process');
const jsonPath = option('json');
const workerPath = scriptPath(import.meta.url, './support/client-worker.ts');

class Worker {
  private readonly replies: Array<(message: unknown) => void> = [];
  private readonly child: ChildProcess;

  constructor(readonly kind: ClientKind, endpoint: string) {
    const profile = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(profileDir, kind)];
    this.child = fork(workerPath, [kind, endpoint], { execArgv: [...profile, ...NODE_LOADER_ARGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message) => this.replies.shift()?.(message));
    this.child.on('exit', (code) => {
      for (const reply of this.replies.splice(0)) reply({ ops: 0, cpuMicros: 0, elapsedMs: 0, error: `worker exited with ${code}` });
    });
  }

  private next(): Promise<unknown> {
    return new Promise((resolve) => this.replies.push(resolve));
  }

  async ready(): Promise<void> {
    const message = (await this.next()) as { ready?: boolean; error?: string };
    if (message.ready !== true) throw new Error(`${this.kind} worker failed to start: ${message.error ?? 'no ready message'}`);
  }

  async run(request: RowRequest): Promise<RowResult> {
    const reply = this.next();
    this.child.send(request);
    return (await reply) as RowResult;
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ close: true });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface Cell {
  readonly opsPerSecond: number;
  readonly cpuMicrosPerOp: number;
  readonly error?: string;
}

function cell(result: RowResult): Cell {
  if (result.error !== undefined || result.ops === 0) return { opsPerSecond: 0, cpuMicrosPerOp: 0, error: result.error ?? 'no ops completed' };
  return { opsPerSecond: result.ops / (result.elapsedMs / 1_000), cpuMicrosPerOp: result.cpuMicros / result.ops };
}

/** The median of each figure over the rounds (an error in any round is reported instead). */
function median(cells: readonly Cell[]): Cell {
  const failed = cells.find((c) => c.error !== undefined);
  if (failed !== undefined) return failed;
  const mid = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const half = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
  };
  return { opsPerSecond: mid(cells.map((c) => c.opsPerSecond)), cpuMicrosPerOp: mid(cells.map((c) => c.cpuMicrosPerOp)) };
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) && n > 0 ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');
const show = (c: Cell | undefined): string => (c === undefined ? '—' : c.error !== undefined ? `error: ${c.error.slice(0, 60)}` : `${fmt(c.opsPerSecond)} / ${fmt(c.cpuMicrosPerOp)}`);

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  console.log(`client bench: warm-up ${warmupMs} ms, measure ${measureMs} ms, ${repeat} rounds per row and library; load average ${loadBefore}`);
  const etcd = await startSystem({ kind: 'etcd', members: 1, engine: 'memory' });
  const results = new Map<ClientRow, Map<ClientKind, Cell>>();
  let embedded: Cell | undefined;
  const workers: Worker[] = [];
  try {
    const endpoint = etcd.endpoints[0]!;
    const seed = new Client({ endpoints: [endpoint] });
    await seed.put(GET_KEY, VALUE);
    await Promise.all(Array.from({ length: 64 }, (_, slot) => seed.put(slotKey(slot), VALUE)));
    seed.destroy();
    if (oneProcess) {
      const slices = quick ? 6 : 10;
      const sliceMs = quick ? 300 : 500;
      for (const row of rows) {
        const totals = await runInterleaved(networkKinds, endpoint, row, slices, sliceMs);
        results.set(row, new Map([...totals].map(([kind, total]) => [kind, cell(total)])));
        console.log(`  ${row.padEnd(10)} ${[...results.get(row)!].map(([kind, c]) => `${kind} ${show(c)}`).join(', ')}`);
      }
    }
    if (!oneProcess) for (const kind of networkKinds) workers.push(new Worker(kind, endpoint));
    await Promise.all(workers.map((w) => w.ready()));
    for (const [index, row] of (oneProcess ? [] : rows).entries()) {
      const rounds = new Map<ClientKind, Cell[]>(workers.map((w) => [w.kind, []]));
      for (let round = 0; round < repeat; round += 1) {
        // Rotate who goes first, so no library always runs right after the same other one.
        const order = workers.map((_, i) => workers[(i + index + round) % workers.length]!);
        for (const worker of order) {
          const result = cell(await worker.run({ row, warmupMs, measureMs }));
          rounds.get(worker.kind)!.push(result);
          console.log(`  ${row.padEnd(10)} ${worker.kind.padEnd(8)} round ${round + 1}/${repeat}: ${show(result)} (ops/s / client CPU µs per op)`);
        }
      }
      results.set(row, new Map([...rounds].map(([kind, cells]) => [kind, median(cells)])));
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await etcd.stop();
  }
  if (withEmbedded) {
    const worker = new Worker('embedded', '');
    try {
      await worker.ready();
      const rounds: Cell[] = [];
      for (let round = 0; round < repeat; round += 1) rounds.push(cell(await worker.run({ row: 'get-seq', warmupMs, measureMs })));
      embedded = median(rounds);
    } finally {
      await worker.close();
    }
  }
  const loadAfter = loadAverage();

  console.log(`\nClient cost per call against one etcd 3.4 member${oneProcess ? ', all libraries in one process (alternating slices)' : ''}, the SDK as ${RUNTIME_DESCRIPTION} (load average ${loadBefore} before, ${loadAfter} after)\n`);
  console.log('| row | raw grpc-js (floor): ops/s / CPU µs | etcd3: ops/s / CPU µs | Conclave SDK: ops/s / CPU µs | SDK/etcd3 CPU | SDK/floor CPU | SDK/etcd3 ops/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [row, byKind] of results) {
    const sdk = byKind.get('conclave');
    const etcd3 = byKind.get('etcd3');
    const raw = byKind.get('raw');
    const ratio = (a: number | undefined, b: number | undefined): string => (a && b ? `${(a / b).toFixed(2)}x` : '—');
    console.log(`| ${row} | ${show(raw)} | ${show(etcd3)} | ${show(sdk)} | ${ratio(sdk?.cpuMicrosPerOp, etcd3?.cpuMicrosPerOp)} | ${ratio(sdk?.cpuMicrosPerOp, raw?.cpuMicrosPerOp)} | ${ratio(sdk?.opsPerSecond, etcd3?.opsPerSecond)} |`);
  }
  if (embedded !== undefined) {
    console.log(`\nEmbedded member.client() get, sequential: ${show(embedded)} (ops/s / client + server CPU µs per op, one process)`);
  }
  if (jsonPath !== undefined) {
    const json = { loadBefore, loadAfter, warmupMs, measureMs, rows: Object.fromEntries([...results].map(([row, m]) => [row, Object.fromEntries(m)])), embedded };
    writeFileSync(jsonPath, JSON.stringify(json, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
