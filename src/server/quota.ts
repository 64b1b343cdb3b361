import type { Clock } from '../base/clock.js';

/** What the quota check needs (declared by the consumer). */
export interface QuotaTarget {
  isLeader(): boolean;
  /** Bytes the backend holds now. */
  backendBytes(): number;
  hasNoSpaceAlarm(): boolean;
  raiseNoSpaceAlarm(): Promise<void>;
}

/**
 * The backend quota (`--quota-backend-bytes`): when the backend grows past it, the leader
 * raises the NOSPACE alarm through raft, and every member then refuses writes and lease
 * grants with "etcdserver: mvcc: database space exceeded" until an operator compacts,
 * defragments and disarms the alarm (etcd's procedure). Checked every `intervalMs` rather
 * than per request, because measuring the backend walks it.
 */
export class QuotaWatcher {
  private cancel: (() => void) | undefined;

  constructor(
    private readonly target: QuotaTarget,
    private readonly clock: Clock,
    private readonly quotaBytes: number,
    private readonly intervalMs = 5_000,
  ) {}

  start(): void {
    const check = (): void => {
      if (this.target.isLeader() && !this.target.hasNoSpaceAlarm() && this.target.backendBytes() > this.quotaBytes) {
        void this.target.raiseNoSpaceAlarm().catch(() => undefined);
      }
      this.cancel = this.clock.setTimer(this.intervalMs, check);
    };
    this.cancel = this.clock.setTimer(this.intervalMs, check);
  }

  stop(): void {
    this.cancel?.();
  }
}
