/**
 * Side-by-side server benchmark: Conclave and etcd 3.4 (/usr/bin/etcd), each as 1 member and
 * as 3 members on loopback with fsync on, driven by the same load generator (forked worker
 * processes running our SDK's Client and Mutex) with the same workloads. Per workload it prints
 * ops/s, p50/p99 latency, the ratio Conclave/etcd (ops/s), the servers' CPU microseconds per op
 * (utime+stime of every member process over the measured window, from /proc/<pid>/stat) and
 * the load generator's own CPU use, so a saturated client shows.
 *
 * Usage: npm run bench -- server [--quick] [--workload=NAME[,NAME]] [--members=1|3]
 *          [--system=conclave|etcd] [--engine=memory|lmdb] [--seconds=N] [--warmup=N]
 *          [--workers=N] [--profile=DIR] [--json=FILE] [--auth]
 * --auth turns authentication on in both systems (simple tokens; the load runs as a user with
 * read-write on every key, so every call carries a token and passes a permission check).
 * (`npm run bench` passes only dash arguments through, so give values with `=`.)
 * --profile runs the Conclave members under `node --cpu-prof`; summarise the profiles with
 * `npx tsx bench/support/profile-summary.ts DIR`.
 * Every Conclave row is bracketed by scrapes of the members' /metrics (bench/support/metrics-scrape.ts):
 * strictly parsed, checked by `promtool check metrics` when it is on PATH, and the deltas of
 * etcd's main series printed under the row.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { LoadGenerator } from './support/loadgen.js';
import type { WorkloadRun } from './support/loadgen.js';
import { describeFloors, measureFloors } from './support/floors.js';
import type { Floors } from './support/floors.js';
import { loadAverage, percentile } from './support/measure.js';
import { MetricsWatch } from './support/metrics-scrape.js';
import { BENCH_USER, startSystem } from './support/systems.js';
import type { SystemKind } from './support/systems.js';
import { WORKLOADS } from './support/workloads.js';
import { RUNTIME_DESCRIPTION } from './support/runtime.js';

interface Settings {
  workloads: string[];
  members: number[];
  systems: SystemKind[];
  engine: 'memory' | 'lmdb';
  warmupMs: number;
  measureMs: number;
  workers: number;
  profileDir: string | undefined;
  jsonFile: string | undefined;
  auth: boolean;
}

function parseArgs(argv: readonly string[]): Settings {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let text = eq < 0 ? undefined : arg.slice(eq + 1);
    if (text === undefined && name !== 'quick' && name !== 'auth' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) text = argv[++i];
    values.set(name, [...(values.get(name) ?? []), ...(text ?? '').split(',').filter((t) => t !== '')]);
  }
  const known = ['auth', 'quick', 'workload', 'members', 'system', 'engine', 'seconds', 'warmup', 'workers', 'profile', 'json'];
  for (const name of values.keys()) if (!known.includes(name)) throw new Error(`unknown flag --${name}; known: ${known.join(', ')}`);
  const quick = values.has('quick');
  const one = (name: string): string | undefined => values.get(name)?.at(-1);
  const workloads = values.get('workload') ?? WORKLOADS.map((w) => w.name);
  for (const name of workloads) if (!WORKLOADS.some((w) => w.name === name)) throw new Error(`unknown workload ${name}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  const members = (values.get('members') ?? ['1', '3']).map(Number);
  if (members.some((m) => !Number.isInteger(m) || m < 1 || m > 7)) throw new Error('--members must be between 1 and 7');
  const systems = (values.get('system') ?? ['conclave', 'etcd']) as SystemKind[];
  if (systems.some((s) => s !== 'conclave' && s !== 'etcd')) throw new Error('--system must be conclave or etcd');
  const engine = one('engine') ?? 'memory';
  if (engine !== 'memory' && engine !== 'lmdb') throw new Error('--engine must be memory or lmdb');
  const seconds = Number(one('seconds') ?? (quick ? 1.5 : 5));
  const warmup = Number(one('warmup') ?? (quick ? 0.5 : 1));
  const workers = Number(one('workers') ?? 4);
  if (!(seconds > 0) || !(warmup >= 0) || !Number.isInteger(workers) || workers < 1 || workers > 32) throw new Error('bad --seconds, --warmup or --workers');
  const profile = one('profile');
  const json = one('json');
  return {
    workloads, members, systems, engine, workers,
    warmupMs: warmup * 1000, measureMs: seconds * 1000,
    profileDir: profile === undefined ? undefined : resolve(profile),
    jsonFile: json === undefined ? undefined : resolve(json),
    auth: values.has('auth'),
  };
}

/** Problems the /metrics checks found over the whole run (they fail the run, as a failed row does). */
const metricsProblems = { count: 0 };

interface Cell {
  readonly system: SystemKind;
  readonly members: number;
  readonly workload: string;
  readonly run: WorkloadRun | undefined;
  readonly failure: string | undefined;
}

async function measureSystem(settings: Settings, kind: SystemKind, members: number): Promise<Cell[]> {
  const cells: Cell[] = [];
  let system;
  try {
    system = await startSystem({ kind, members, engine: settings.engine, auth: settings.auth, ...(kind === 'conclave' && settings.profileDir !== undefined ? { profileDir: settings.profileDir } : {}) });
  } catch (error) {
    return settings.workloads.map((workload) => ({ system: kind, members, workload, run: undefined, failure: String(error).split('\n')[0] }));
  }
  console.log(`\n# ${system.label}: endpoints ${system.endpoints.join(' ')}, server pids ${system.pids.join(' ')}`);
  const load = await LoadGenerator.start(settings.workers, system.endpoints, settings.auth ? BENCH_USER : undefined);
  try {
    for (const workload of settings.workloads) {
      try {
        // Conclave rows are bracketed by /metrics scrapes (outside the measured window): the
        // exposition must stay valid under load and the watched series must move.
        const metrics = kind === 'conclave' ? await MetricsWatch.start(system.endpoints, settings.engine) : undefined;
        const run = await load.run(workload, settings.warmupMs, settings.measureMs, system.pids);
        cells.push({ system: kind, members, workload, run, failure: undefined });
        console.log(`  ${workload.padEnd(18)} ${describe(run)}  (load avg ${loadAverage()})`);
        if (metrics !== undefined) {
          for (const line of await metrics.finish()) console.log(`    metrics ${line}`);
          if (metrics.problems > 0) metricsProblems.count += metrics.problems;
        }
        if (system.exited().length > 0) {
          console.log(`  members exited: ${system.exited().join(', ')}; the remaining rows of ${system.label} are skipped\n${system.logs()}`);
          break;
        }
      } catch (error) {
        cells.push({ system: kind, members, workload, run: undefined, failure: String(error).split('\n')[0] });
        console.log(`  ${workload.padEnd(18)} failed: ${String(error).split('\n')[0]}`);
      }
    }
  } finally {
    await load.stop();
    await system.stop();
  }
  return cells;
}

function opsPerSecond(run: WorkloadRun): number {
  return run.ops / run.seconds;
}

function describe(run: WorkloadRun): string {
  const errors = run.errors > 0 ? `, ${run.errors} errors (first: ${run.firstError})` : '';
  return `${opsPerSecond(run).toFixed(0)} ops/s, p50 ${percentile(run.latenciesMs, 50).toFixed(2)} ms, p99 ${percentile(run.latenciesMs, 99).toFixed(2)} ms, ` +
    `server ${cpuPerOp(run.serverCpuMicros, run)} µs/op, load generator ${(run.clientCpuMicros / (run.seconds * 1e6) * 100).toFixed(0)}% of a core${errors}`;
}

function cpuPerOp(micros: number, run: WorkloadRun): string {
  return run.ops === 0 ? 'n/a' : (micros / run.ops).toFixed(0);
}

function table(cells: readonly Cell[], members: number, floors: Floors): string {
  const lines = [
    `| workload (${members} member${members === 1 ? '' : 's'}) | Conclave ops/s | etcd ops/s | Conclave/etcd | Conclave p50 / p99 ms | etcd p50 / p99 ms | Conclave CPU µs/op | etcd CPU µs/op | load gen CPU (C / e) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const find = (system: SystemKind, workload: string): Cell | undefined => cells.find((c) => c.system === system && c.members === members && c.workload === workload);
  const workloads = [...new Set(cells.filter((c) => c.members === members).map((c) => c.workload))];
  for (const workload of workloads) {
    const c = find('conclave', workload)?.run;
    const e = find('etcd', workload)?.run;
    const ops = (r: WorkloadRun | undefined): string => (r === undefined ? 'n/a' : opsPerSecond(r).toFixed(0));
    const lat = (r: WorkloadRun | undefined): string => (r === undefined || r.ops === 0 ? 'n/a' : `${percentile(r.latenciesMs, 50).toFixed(2)} / ${percentile(r.latenciesMs, 99).toFixed(2)}`);
    const cpu = (r: WorkloadRun | undefined): string => (r === undefined ? 'n/a' : cpuPerOp(r.serverCpuMicros, r));
    const client = (r: WorkloadRun | undefined): string => (r === undefined ? 'n/a' : `${(r.clientCpuMicros / (r.seconds * 1e6) * 100).toFixed(0)}%`);
    const ratio = c !== undefined && e !== undefined && e.ops > 0 ? (opsPerSecond(c) / opsPerSecond(e)).toFixed(2) : 'n/a';
    lines.push(`| ${workload} | ${ops(c)} | ${ops(e)} | ${ratio} | ${lat(c)} | ${lat(e)} | ${cpu(c)} | ${cpu(e)} | ${client(c)} / ${client(e)} |`);
    // A sequential put is bounded below by one durable write plus one unary call.
    if (workload === 'put-seq') {
      lines.push(`| (floor) write+fdatasync / O_DSYNC write | | | | ${floors.writeFdatasyncP50Ms.toFixed(3)} / ${floors.dsyncWriteP50Ms.toFixed(3)} (p50) | | | | |`);
      lines.push(`| (floor) grpc-js unary echo | | | | ${floors.grpcEchoP50Ms.toFixed(3)} (p50) | | | | |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const startedAt = Date.now();
  const loadBefore = loadAverage();
  console.log(`server bench: ${settings.workloads.length} workloads, members ${settings.members.join(',')}, systems ${settings.systems.join(',')}, ` +
    `Conclave engine ${settings.engine}, ${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s measured, ${settings.workers} load-generator processes, ` +
    `${cpus().length} cores, load avg ${loadBefore}`);
  const floors = await measureFloors();
  console.log(describeFloors(floors));
  const cells: Cell[] = [];
  for (const members of settings.members) {
    for (const kind of settings.systems) cells.push(...await measureSystem(settings, kind, members));
  }
  console.log(`\nserver benchmark (${settings.measureMs / 1000} s measured per row after ${settings.warmupMs / 1000} s warm-up; loopback, fsync on; Conclave as ${RUNTIME_DESCRIPTION}; ` +
    `load avg ${loadBefore} before, ${loadAverage()} after; ${((Date.now() - startedAt) / 1000).toFixed(0)} s total)\n`);
  for (const members of settings.members) console.log(`${table(cells, members, floors)}\n`);
  console.log(describeFloors(floors));
  for (const cell of cells) if (cell.failure !== undefined) console.log(`failed: ${cell.system} ${cell.members}m ${cell.workload}: ${cell.failure}`);
  for (const cell of cells) if (cell.run !== undefined && cell.run.errors > 0) console.log(`errors: ${cell.system} ${cell.members}m ${cell.workload}: ${cell.run.errors} (first: ${cell.run.firstError})`);
  for (const workload of WORKLOADS.filter((w) => settings.workloads.includes(w.name))) console.log(`- ${workload.name}: ${workload.description}`);
  if (settings.jsonFile !== undefined) {
    const rows = cells.map((c) => ({
      system: c.system, members: c.members, workload: c.workload, failure: c.failure,
      ...(c.run === undefined ? {} : {
        opsPerSecond: opsPerSecond(c.run), p50Ms: percentile(c.run.latenciesMs, 50), p99Ms: percentile(c.run.latenciesMs, 99),
        serverCpuMicrosPerOp: c.run.ops === 0 ? null : c.run.serverCpuMicros / c.run.ops, clientCpuMicros: c.run.clientCpuMicros, errors: c.run.errors,
      }),
    }));
    writeFileSync(settings.jsonFile, JSON.stringify({ loadBefore, loadAfter: loadAverage(), settings, floors, rows }, null, 2));
  }
  if (metricsProblems.count > 0) console.log(`metrics: ${metricsProblems.count} problem(s) in the /metrics checks (see the "metrics" lines above)`);
  if (cells.some((c) => c.failure !== undefined) || metricsProblems.count > 0) process.exitCode = 1;
}

await main();
