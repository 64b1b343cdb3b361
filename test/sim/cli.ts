/**
 * npm run sim -- [--seeds N] [--from S] [--seed S] [--trace] [--workers K] [--bug NAME]
 *
 *   --seeds N    run N seeds starting at --from (default 1); default N = 2000
 *   --seed S     run exactly seed S (replays a failure; add --trace for its event log)
 *   --workers K  run seeds in K worker threads (default 1)
 *   --bug NAME   switch on a deliberate bug (commitPriorTermByCounting, voteWithoutLogCheck,
 *                readIndexWithoutQuorum) to see the checks bite
 *
 * Prints one summary line and every failure with its seed; exits 1 if any seed failed.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RaftTestingBugs } from '../../src/raft/index.js';
import type { SeedRangeSummary } from './run-seeds.js';
import { addResult, describeFailure, describeSummary, emptySummary, mergeSummaries, runSeeds } from './run-seeds.js';
import { runSimulation } from './simulation.js';

interface WorkerJob {
  from: number;
  count: number;
  bugs?: RaftTestingBugs;
}

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) args.set(arg.slice(2), 'true');
    else {
      args.set(arg.slice(2), next);
      i += 1;
    }
  }
  return args;
}

function positiveInteger(args: Map<string, string>, name: string, fallback: number): number {
  const text = args.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bugName = args.get('bug');
  const known = ['commitPriorTermByCounting', 'voteWithoutLogCheck', 'readIndexWithoutQuorum'];
  if (bugName !== undefined && !known.includes(bugName)) throw new Error(`--bug must be one of ${known.join(', ')}`);
  const bugs: RaftTestingBugs | undefined = bugName === undefined ? undefined : { [bugName]: true };

  if (args.has('seed')) {
    const seed = positiveInteger(args, 'seed', 1);
    const result = runSimulation({ seed, trace: args.has('trace'), ...(bugs === undefined ? {} : { bugs }) });
    if (args.has('trace')) console.log(result.trace.join('\n'));
    const summary = emptySummary();
    addResult(summary, result);
    report(summary, 0);
    return;
  }
  const from = positiveInteger(args, 'from', 1);
  const count = positiveInteger(args, 'seeds', 2000);
  const workers = positiveInteger(args, 'workers', 1);
  const started = performance.now();
  const summary = emptySummary();
  if (workers === 1) {
    mergeSummaries(summary, runSeeds(from, count, bugs));
  } else {
    const share = Math.ceil(count / workers);
    const jobs: Promise<SeedRangeSummary>[] = [];
    for (let w = 0; w < workers; w++) {
      const jobFrom = from + w * share;
      const jobCount = Math.min(share, from + count - jobFrom);
      if (jobCount <= 0) break;
      const job: WorkerJob = { from: jobFrom, count: jobCount, ...(bugs === undefined ? {} : { bugs }) };
      jobs.push(new Promise((resolve, reject) => {
        // A child process per worker (tsx's loader does not reach worker threads on Node 20).
        const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, CONCLAVE_SIM_JOB: JSON.stringify(job, bigintJson) } });
        child.once('message', (part) => resolve(part as SeedRangeSummary));
        child.once('error', reject);
        child.once('exit', (code) => {
          if (code !== 0) reject(new Error(`simulation worker exited with ${code}`));
        });
      }));
    }
    for (const part of await Promise.all(jobs)) mergeSummaries(summary, part);
  }
  report(summary, performance.now() - started);
}

function report(summary: SeedRangeSummary, elapsedMs: number): void {
  console.log(`${describeSummary(summary)} seconds=${(elapsedMs / 1000).toFixed(1)}`);
  for (const failure of summary.failures.slice(0, 20)) console.log(describeFailure(failure));
  console.log(`${summary.seeds - summary.failures.length} passed, ${summary.failures.length} failed`);
  process.exitCode = summary.failures.length === 0 ? 0 : 1;
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

const jobText = process.env.CONCLAVE_SIM_JOB;
if (jobText === undefined) {
  main().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exitCode = 2;
  });
} else {
  const job = JSON.parse(jobText) as WorkerJob;
  const summary = runSeeds(job.from, job.count, job.bugs);
  // Failures carry bigint-free data only (seeds, strings, numbers) except traces, which are empty here.
  process.send!(JSON.parse(JSON.stringify(summary, bigintJson)), () => process.exit(0));
}
