import type { Lessor } from './lessor/index.js';
import type { MemberInfo, ProposalRequest } from './api/ports.js';
import { AutoCompactor } from './auto-compactor.js';
import type { ClusterState } from './cluster-state.js';
import { memberToPb } from './cluster-state.js';
import type { ResolvedMemberOptions } from './member-options.js';
import { AutoPromoter, autoPromoteTiming } from './auto-promoter.js';

/** How often the lessor checks for expired leases and due checkpoints. */
const LESSOR_TICK_MS = 500;
/**
 * etcd's backend batch interval (--backend-batch-interval, 100 ms): buffered backend writes are
 * committed at least this often, not only once a batch fills (10,000 writes), so a lightly
 * loaded lmdb member commits within 100 ms and etcd_disk_backend_commit_duration_seconds moves.
 */
const BACKEND_BATCH_INTERVAL_MS = 100;

/** What the member's background services need (declared by the consumer). */
export interface ServicesTarget {
  readonly memberId: bigint;
  readonly options: ResolvedMemberOptions;
  readonly cluster: ClusterState;
  lessor(): Lessor;
  isLeader(): boolean;
  isStopped(): boolean;
  currentRevision(): number;
  propose(request: ProposalRequest): Promise<unknown>;
  /** For learner auto-promotion (auto-promoter.ts). */
  learnerIds(): bigint[];
  raftProgress(): ReadonlyMap<bigint, { match: number; recentActive: boolean; isLearner: boolean }> | undefined;
  raftLastIndex(): number;
  promote(id: bigint): Promise<void>;
  /** Commits the backend's buffered writes (a no-op when none are buffered, and on the memory engine). */
  flushBackend(): void;
}

/** A background service of the member: started with it, stopped (synchronously) when it stops. */
export interface MemberService {
  stop(): void;
}

/**
 * The one place where a member's background services are built: the lessor's tick, the
 * backend's batch-interval commit, the publication of this member's attributes, periodic auto-compaction and learner
 * auto-promotion (the backend quota is checked per request, in Member.propose).
 * A new service (metrics, an HTTP endpoint, ...) is added here; the member stops them all.
 */
export function startMemberServices(target: ServicesTarget): MemberService[] {
  const { options } = target;
  const services: MemberService[] = [lessorTicker(target), backendCommitter(target)];
  void publishAttributes(target);
  if (options.autoCompactionRetentionHours > 0) {
    const compactor = new AutoCompactor({
      isLeader: () => target.isLeader(),
      currentRevision: () => target.currentRevision(),
      compact: async (revision) => {
        await target.propose({ case: 'compaction', value: { revision: BigInt(revision), physical: false } as never });
      },
    }, options.clock, options.autoCompactionRetentionHours * 3_600_000);
    compactor.start();
    services.push(compactor);
  }
  if (options.autoPromoteLearners) {
    const promoter = new AutoPromoter({
      isLeader: () => target.isLeader(),
      learnerIds: () => target.learnerIds(),
      raftProgress: () => target.raftProgress(),
      raftLastIndex: () => target.raftLastIndex(),
      promote: (id) => target.promote(id),
    }, options.clock, autoPromoteTiming(options.electionTimeoutMs), options.logger);
    promoter.start();
    services.push(promoter);
  }
  return services;
}

function lessorTicker(target: ServicesTarget): MemberService {
  const { clock } = target.options;
  let cancel: (() => void) | undefined;
  const tick = (): void => {
    if (target.isStopped()) return;
    target.lessor().tick();
    cancel = clock.setTimer(LESSOR_TICK_MS, tick);
  };
  cancel = clock.setTimer(LESSOR_TICK_MS, tick);
  return { stop: () => cancel?.() };
}

function backendCommitter(target: ServicesTarget): MemberService {
  const { clock } = target.options;
  let cancel: (() => void) | undefined;
  const commit = (): void => {
    if (target.isStopped()) return;
    target.flushBackend();
    cancel = clock.setTimer(BACKEND_BATCH_INTERVAL_MS, commit);
  };
  cancel = clock.setTimer(BACKEND_BATCH_INTERVAL_MS, commit);
  return { stop: () => cancel?.() };
}

/**
 * Records this member's name and client URLs in the replicated member list (etcd's
 * "publish"), so MemberList shows every member's client URLs. Retried until it lands.
 */
async function publishAttributes(target: ServicesTarget): Promise<void> {
  const { name, advertiseClientUrls, clock, electionTimeoutMs, logger } = target.options;
  while (!target.isStopped()) {
    const me = target.cluster.members.get(target.memberId);
    if (me !== undefined && me.name === name && me.clientUrls.join(',') === advertiseClientUrls.join(',')) return;
    // No peer URLs: the applier keeps the member's current ones (a MemberUpdate may change them meanwhile).
    const attributes: MemberInfo = { id: target.memberId, name, peerUrls: [], clientUrls: advertiseClientUrls, isLearner: me?.isLearner ?? false };
    try {
      await target.propose({ case: 'memberUpdate', value: memberToPb(attributes) });
    } catch (error) {
      if (target.isStopped()) return;
      logger.debug('publishing member attributes failed; retrying', { error: (error as Error).message });
      await new Promise<void>((resolve) => clock.setTimer(electionTimeoutMs, resolve));
    }
  }
}
