/**
 * etcd's leader monitor for require-leader streams: a stream opened with the `hasleader:
 * true` metadata (etcdctl watch, Go clients' WithRequireLeader) is ended with "etcdserver:
 * no leader" once the member has known no leader for `timeoutMs` (etcd: three election
 * timeouts), so such a client fails over instead of waiting on a partitioned member. Checks
 * run on the injected clock every third of the timeout while such streams are open.
 */
import type { Clock } from '../../base/clock.js';
import { requireInteger } from '../../base/validate.js';
import { serverError } from '../errors.js';
import { toServiceError } from './grpc-status.js';
import type { ServerPort } from './ports.js';
import type { TrackedCall } from './unary.js';

/** etcd: 3 x the default 1000 ms election timeout. */
export const DEFAULT_NO_LEADER_STREAM_TIMEOUT_MS = 3_000;

export class LeaderMonitor {
  private readonly streams = new Set<TrackedCall>();
  private readonly timeoutMs: number;
  private leaderlessSinceMs: number | undefined;
  private cancelTimer: (() => void) | undefined;
  private closed = false;

  constructor(private readonly port: ServerPort, private readonly clock: Clock, timeoutMs = DEFAULT_NO_LEADER_STREAM_TIMEOUT_MS) {
    this.timeoutMs = requireInteger('noLeaderStreamTimeoutMs', timeoutMs, 3);
  }

  get size(): number {
    return this.streams.size;
  }

  /** Watches `call` until it ends. */
  add(call: TrackedCall): void {
    if (this.closed) return;
    this.streams.add(call);
    const forget = (): void => {
      this.streams.delete(call);
    };
    call.once('close', forget);
    call.once('cancelled', forget);
    call.once('finish', forget);
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.streams.clear();
  }

  private schedule(): void {
    if (this.cancelTimer !== undefined || this.closed) return;
    this.cancelTimer = this.clock.setTimer(Math.floor(this.timeoutMs / 3), () => {
      this.cancelTimer = undefined;
      this.check();
      if (this.streams.size > 0) this.schedule();
    });
  }

  private check(): void {
    const leader = this.port.role?.().leader ?? this.port.status().leader;
    const now = this.clock.nowMs();
    if (leader !== 0n) {
      this.leaderlessSinceMs = undefined;
      return;
    }
    this.leaderlessSinceMs ??= now;
    if (now - this.leaderlessSinceMs < this.timeoutMs) return;
    const streams = [...this.streams];
    this.streams.clear();
    for (const call of streams) call.emit('error', toServiceError(serverError('noLeader')));
  }
}
