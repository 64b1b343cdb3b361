/**
 * One load-generator process (forked by loadgen.ts). It holds one Client (one HTTP/2
 * connection) to one member, prepares its share of a workload's slots, runs them until the
 * end time it is given, and reports the latency of every operation that completed inside the
 * measured window [warmupEndsAt, endsAt] (times on the machine-wide monotonic clock).
 */
import { Client } from '../../src/client/index.js';
import { sharedNowMs } from './measure.js';
import { RawClient } from './raw-client.js';
import type { PreparedWorkload } from './workloads.js';
import { WORKLOADS, slotsFor } from './workloads.js';

export type WorkerRequest =
  | { type: 'init'; endpoint: string; workerIndex: number; workerCount: number; auth?: { username: string; password: string } }
  | { type: 'prepare'; workload: string }
  | { type: 'run'; warmupEndsAt: number; endsAt: number }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ok' }
  | { type: 'result'; latenciesMs: number[]; errors: number; firstError: string | undefined }
  | { type: 'error'; message: string };

/** Pause after a failed operation, so a failing system is not hammered in a tight loop. */
const ERROR_PAUSE_MS = 20;

let client: Client | undefined;
let raw: RawClient | undefined;
let workerIndex = 0;
let workerCount = 1;
let prepared: PreparedWorkload | undefined;
let latencies: number[] = [];
let window = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
let run = new AbortController();

function record(latencyMs: number, completedAtMs: number): void {
  if (completedAtMs >= window.from && completedAtMs <= window.to) latencies.push(latencyMs);
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  switch (request.type) {
    case 'init':
      workerIndex = request.workerIndex;
      workerCount = request.workerCount;
      client = new Client({ endpoints: [request.endpoint], callTimeoutMs: 30_000, ...(request.auth === undefined ? {} : { auth: request.auth }) });
      raw = new RawClient(request.endpoint);
      // With auth on, the thin client logs in once (the token outlives a bench run).
      if (request.auth !== undefined) raw.token = await client.auth.authenticate(request.auth.username, request.auth.password);
      return { type: 'ok' };
    case 'prepare': {
      const workload = WORKLOADS.find((w) => w.name === request.workload);
      if (workload === undefined || client === undefined || raw === undefined) return { type: 'error', message: `no workload ${request.workload} or not initialised` };
      latencies = [];
      window = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
      run = new AbortController();
      prepared = await workload.prepare({ client, raw, workerIndex, slots: slotsFor(workload, workerIndex, workerCount), record, signal: run.signal });
      return { type: 'ok' };
    }
    case 'run': {
      if (prepared === undefined) return { type: 'error', message: 'run before prepare' };
      window = { from: request.warmupEndsAt, to: request.endsAt };
      let errors = 0;
      let firstError: string | undefined;
      const { ops, recordsOwn } = prepared;
      await Promise.all(ops.map(async (op) => {
        while (sharedNowMs() < request.endsAt) {
          const startedAt = sharedNowMs();
          try {
            await op();
          } catch (error) {
            errors += 1;
            firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
            continue;
          }
          if (recordsOwn !== true) {
            const now = sharedNowMs();
            record(now - startedAt, now);
          }
        }
      }));
      // Workloads observed elsewhere (watch events) may still be arriving for the window.
      const waitMs = request.endsAt - sharedNowMs();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      run.abort();
      await prepared.teardown();
      prepared = undefined;
      const result = latencies;
      latencies = [];
      return { type: 'result', latenciesMs: result, errors, firstError };
    }
    case 'close':
      await client?.close();
      raw?.close();
      return { type: 'ok' };
  }
}

process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (reply) => {
      process.send!(reply);
      if (request.type === 'close') process.disconnect();
    },
    (error: unknown) => process.send!({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies WorkerReply),
  );
});
