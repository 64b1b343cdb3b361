import { EventEmitter } from 'node:events';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ConclaveError } from '../base/errors.js';
import type { EmbeddedMember, Metadata, StreamLike } from '../client/index.js';
import { startMember } from '../server/index.js';
import type { InProcessEndpoint, MemberOptions, MemberStatusInfo, RunningMember } from '../server/index.js';
import type { PausableClock } from './pausable-clock.js';

/**
 * One member of a test cluster: its options (the same data dir and ports on every start),
 * the running member while it is up, and a stable in-process endpoint that clients keep across
 * kills and restarts (calls go to whichever incarnation is running).
 */
export class TestMember {
  private running: RunningMember | undefined;
  private lastEndpoint: InProcessEndpoint | undefined;
  private id = 0n;
  private readonly resumeWaiters = new Set<() => void>();

  constructor(
    /** Position in the cluster (what the cluster's helpers take). */
    readonly index: number,
    private readonly options: MemberOptions,
    private readonly clock: PausableClock,
  ) {
    this.embedded = this.endpointForClients();
  }

  get name(): string {
    return this.options.name!;
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** The member id (known once it has started). */
  get memberId(): bigint {
    return this.id;
  }

  /** `host:port` of its gRPC client listener, for network clients (etcdctl, another process). */
  get endpoint(): string {
    return new URL(this.options.listenClientUrls![0]!).host;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  get isPaused(): boolean {
    return this.clock.isPaused;
  }

  /** Raft status of the running member; throws when it is killed. */
  status(): MemberStatusInfo {
    if (this.running === undefined) throw new ConclaveError('ERR_MEMBER_DOWN', `member ${this.name} is not running`);
    return this.running.status();
  }

  async start(): Promise<void> {
    if (this.running !== undefined) throw new ConclaveError('ERR_MEMBER_RUNNING', `member ${this.name} is already running`);
    this.running = await startMember(this.options);
    this.lastEndpoint = this.running.embedded();
    this.id = this.running.member.memberId;
  }

  /** Stops at once, like kill -9 of a member process (no leadership hand-off, nothing drained). */
  async kill(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.destroy();
  }

  /** Graceful stop (hands leadership away first), used by the cluster's close(). */
  async close(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.close();
  }

  pause(): void {
    this.clock.pause();
  }

  resume(): void {
    this.clock.resume();
    for (const wake of [...this.resumeWaiters]) wake();
  }

  /**
   * The endpoint clients use. It reports itself unusable while the member is killed or
   * paused (a client then fails over, as its keep-alive would notice a dead process); a unary
   * call that reaches a paused member waits for the resume, as a stopped process would.
   */
  readonly embedded: EmbeddedMember;

  private endpointForClients(): EmbeddedMember {
    return {
      name: `test-member-${this.index}`,
      usable: () => this.running !== undefined && !this.clock.isPaused && (this.lastEndpoint?.usable() ?? false),
      unary: async (path: string, request: unknown, metadata: Metadata, signal: AbortSignal): Promise<unknown> => {
        if (this.clock.isPaused) await this.untilResumed(signal);
        if (this.running === undefined || this.lastEndpoint === undefined) throw unavailable(this.name);
        return this.lastEndpoint.unary(path, request, metadata, signal);
      },
      stream: (path: string, metadata: Metadata, request?: unknown): StreamLike<unknown, unknown> => {
        if (this.running === undefined || this.lastEndpoint === undefined) return failedStream(unavailable(this.name));
        return this.lastEndpoint.stream(path, metadata, request) as StreamLike<unknown, unknown>;
      },
    };
  }

  private untilResumed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.resumeWaiters.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.resumeWaiters.delete(done);
        reject(Object.assign(new Error('Cancelled on client'), { code: grpcStatus.CANCELLED, details: 'Cancelled on client' }));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.resumeWaiters.add(done);
    });
  }
}

/** Shaped like a grpc-js client error, which the SDK maps (UNAVAILABLE: it fails over). */
function unavailable(name: string): Error {
  const details = `test member ${name} is not running`;
  return Object.assign(new Error(`${grpcStatus.UNAVAILABLE} ${details}`), { code: grpcStatus.UNAVAILABLE, details });
}

/** A stream that fails with `error` on the next microtask (the member is down). */
function failedStream(error: Error): StreamLike<unknown, unknown> {
  const emitter = new EventEmitter();
  queueMicrotask(() => emitter.emit('error', error));
  return Object.assign(emitter, { write: () => false, end: () => undefined, cancel: () => undefined }) as unknown as StreamLike<unknown, unknown>;
}
