/**
 * The load generator: a pool of forked processes (loadgen-worker.ts), each with its own
 * event loop and connection, so the client side is not one Node thread serialising every
 * request. Worker i talks to member i mod N (as etcd's benchmark tool spreads its
 * connections). The parent reads the servers' and the workers' CPU time at the start and end
 * of the measured window.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { NODE_LOADER_ARGS, scriptPath } from './runtime.js';
import { sharedNowMs, totalCpuMicros } from './measure.js';
import type { WorkerReply, WorkerRequest } from './loadgen-worker.js';

export interface WorkloadRun {
  /** Operations completed inside the measured window. */
  readonly ops: number;
  readonly seconds: number;
  /** Sorted latencies of those operations, in ms. */
  readonly latenciesMs: Float64Array;
  readonly serverCpuMicros: number;
  readonly clientCpuMicros: number;
  readonly errors: number;
  readonly firstError: string | undefined;
}

const workerScript = scriptPath(import.meta.url, './loadgen-worker.ts');

class WorkerHandle {
  private readonly replies: Array<(reply: WorkerReply) => void> = [];
  private readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: WorkerReply) => this.replies.shift()?.(reply));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const waiter of this.replies.splice(0)) waiter({ type: 'error', message: 'load generator process exited' });
    });
  }

  /** Sends one request; the worker answers requests in order, one at a time. */
  request(message: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.replies.push((reply) => (reply.type === 'error' ? reject(new Error(reply.message)) : resolve(reply)));
      this.child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([this.request({ type: 'close' }).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

export class LoadGenerator {
  private constructor(private readonly workers: WorkerHandle[]) {}

  static async start(workerCount: number, endpoints: readonly string[], auth?: { username: string; password: string }): Promise<LoadGenerator> {
    const workers = Array.from({ length: workerCount }, () => new WorkerHandle(fork(workerScript, [], { execArgv: [...NODE_LOADER_ARGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    const generator = new LoadGenerator(workers);
    try {
      await Promise.all(workers.map((w, i) => w.request({ type: 'init', endpoint: endpoints[i % endpoints.length]!, workerIndex: i, workerCount, ...(auth === undefined ? {} : { auth }) })));
    } catch (error) {
      await generator.stop();
      throw error;
    }
    return generator;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /** Prepares the workload on every worker, runs warmup + measured window, gathers the results. */
  async run(workload: string, warmupMs: number, measureMs: number, serverPids: readonly number[]): Promise<WorkloadRun> {
    await Promise.all(this.workers.map((w) => w.request({ type: 'prepare', workload })));
    const warmupEndsAt = sharedNowMs() + warmupMs;
    const endsAt = warmupEndsAt + measureMs;
    const results = Promise.all(this.workers.map((w) => w.request({ type: 'run', warmupEndsAt, endsAt })));
    await sleepUntil(warmupEndsAt);
    const server0 = totalCpuMicros(serverPids);
    const client0 = totalCpuMicros(this.pids);
    await sleepUntil(endsAt);
    const server1 = totalCpuMicros(serverPids);
    const client1 = totalCpuMicros(this.pids);
    const replies = await results;
    const all: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    for (const reply of replies) {
      if (reply.type !== 'result') continue;
      for (const latency of reply.latenciesMs) all.push(latency);
      errors += reply.errors;
      firstError ??= reply.firstError;
    }
    const latenciesMs = Float64Array.from(all).sort();
    return { ops: latenciesMs.length, seconds: measureMs / 1000, latenciesMs, serverCpuMicros: server1 - server0, clientCpuMicros: client1 - client0, errors, firstError };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

function sleepUntil(sharedMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, sharedMs - sharedNowMs())));
}
