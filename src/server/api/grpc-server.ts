/**
 * `createGrpcServer(port, options)`: a grpc-js Server with every etcd v3 service registered
 * over one member's ServerPort (KV, Watch, Lease, Cluster, Maintenance, Auth, v3lock,
 * v3election, gRPC health), with etcd's limits: proposals above `maxRequestBytes` are refused
 * with "request is too large", and gRPC refuses messages above `maxRequestBytes` + 512 KiB.
 * The member binds it (`bind`) and shuts it down (`shutdown`/`forceShutdown`; both end open
 * streams with etcd's "server stopped").
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import type { Clock } from '../../base/clock.js';
import { InvalidOptionError } from '../../base/errors.js';
import { requireInteger } from '../../base/validate.js';
import { authService } from './auth-service.js';
import { clusterService } from './cluster-service.js';
import { electionService } from './election-service.js';
import { guarded } from './guards.js';
import { LeaderMonitor } from './leader-monitor.js';
import { healthService } from './health-service.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { DEFAULT_MAX_REQUEST_BYTES, grpcMaxReceiveBytes, validateMaxRequestBytes } from './limits.js';
import { lockService } from './lock-service.js';
import { maintenanceService } from './maintenance-service.js';
import type { ServerPort } from './ports.js';
import type { ServiceBinding } from './service-definition.js';
import { watchService } from './watch-service.js';
import { StreamTracker } from './unary.js';
import { serverError } from '../errors.js';
import { CONCLAVE_VERSION } from '../version.js';
import { instrumentHandler } from '../metrics/grpc-instrument.js';
import type { MetricsSink } from '../metrics/sink.js';

export interface GrpcServerOptions {
  /** Drives the periodic watch progress notifications. */
  readonly clock: Clock;
  /** etcd's --max-request-bytes (default 1.5 MiB). */
  readonly maxRequestBytes?: number;
  /** Watch progress notification interval (default 10 minutes, as etcd). */
  readonly progressIntervalMs?: number;
  /** The version Status reports (default: Conclave's own, from package.json). */
  readonly version?: string;
  /** Reported by Status as dbSizeQuota (default 0: not reported). */
  readonly quotaBackendBytes?: number;
  /** How long without a leader before require-leader streams end (default 3000 ms: etcd's 3 election timeouts). */
  readonly noLeaderStreamTimeoutMs?: number;
  /** Where gRPC call counts go (default: nowhere). */
  readonly metrics?: MetricsSink;
  /** bcrypt cost of new password hashes (etcd: 10). */
  readonly bcryptCost?: number;
  /** Extra grpc-js server options (TLS is chosen at bind time). */
  readonly channelOptions?: ChannelOptions;
}

/** One registered method: its grpc-js streaming kinds and handler (for in-process calls). */
export interface RegisteredMethod {
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly handler: (...args: never[]) => unknown;
  /**
   * The method's response decoder. A handler may write a response already serialized (the Watch
   * service does, to encode a shared event once for every watcher); a caller in this process
   * that expects message objects decodes such bytes with it.
   */
  readonly responseDeserialize: (bytes: Buffer) => unknown;
}

export interface GrpcApiServer {
  readonly server: Server;
  /** Every method by its path (`/etcdserverpb.KV/Range`), for calls made inside this process. */
  readonly methods: ReadonlyMap<string, RegisteredMethod>;
  /** Binds `address` (`host:port`; port 0 picks one) and resolves with the bound port. */
  bind(address: string, credentials?: ServerCredentials): Promise<number>;
  /** Stops accepting calls, ends watch streams, and waits for running calls. */
  shutdown(): Promise<void>;
  /** Ends every call at once. */
  forceShutdown(): void;
}

/** etcd's server keepalive: ping an idle client every 2 h, drop it if no answer in 20 s. */
const KEEPALIVE_TIME_MS = 2 * 60 * 60 * 1000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

export function createGrpcServer(port: ServerPort, options: GrpcServerOptions): GrpcApiServer {
  const maxRequestBytes = validateMaxRequestBytes(options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
  const quotaBackendBytes = requireInteger('quotaBackendBytes', options.quotaBackendBytes ?? 0, 0);
  const version = options.version ?? CONCLAVE_VERSION;
  if (!/^\d+\.\d+\.\d+/.test(version)) throw new InvalidOptionError('version', `expected a semantic version, got ${JSON.stringify(version)}`);
  const limits = { maxRequestBytes };
  const server = new Server({
    'grpc.max_receive_message_length': grpcMaxReceiveBytes(maxRequestBytes),
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    ...options.channelOptions,
  });
  const tracker = new StreamTracker();
  const monitor = new LeaderMonitor(port, options.clock, options.noLeaderStreamTimeoutMs);
  const watch = watchService(port, { clock: options.clock, tracker, ...(options.progressIntervalMs === undefined ? {} : { progressIntervalMs: options.progressIntervalMs }) });
  const services: ServiceBinding[] = [
    kvService(port, limits),
    watch.binding,
    leaseService(port, limits, tracker),
    clusterService(port),
    maintenanceService(port, { maxRequestBytes, version, quotaBackendBytes }),
    authService(port, { maxRequestBytes, ...(options.bcryptCost === undefined ? {} : { bcryptCost: options.bcryptCost }) }),
    lockService(port, limits),
    electionService(port, limits, tracker),
  ];
  const methods = new Map<string, RegisteredMethod>();
  const register = (definition: ServiceBinding['definition'], bare: ServiceBinding['implementation']): void => {
    const implementation = options.metrics === undefined ? bare : instrumentService(options.metrics, definition, bare);
    server.addService(definition, implementation);
    for (const [name, method] of Object.entries(definition)) {
      const handler = implementation[name];
      if (handler !== undefined) methods.set(method.path, { requestStream: method.requestStream, responseStream: method.responseStream, handler: handler as never, responseDeserialize: method.responseDeserialize });
    }
  };
  for (const service of services) {
    const { definition, implementation } = guarded(port, service, monitor);
    register(definition, implementation);
  }
  const health = healthService(tracker);
  register(health.definition, health.implementation);

  return {
    server,
    methods,
    bind(address, credentials = ServerCredentials.createInsecure()) {
      return new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
      });
    },
    shutdown() {
      // Unary calls finish; long-lived streams are ended with etcd's "server stopped".
      const done = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      watch.close();
      monitor.close();
      tracker.endAll(serverError('stopped'));
      return done;
    },
    forceShutdown() {
      watch.close();
      monitor.close();
      tracker.endAll(serverError('stopped'));
      server.forceShutdown();
    },
  };
}

/** The service's handlers, each counting its calls into `metrics`. */
function instrumentService(metrics: MetricsSink, definition: ServiceBinding['definition'], implementation: ServiceBinding['implementation']): ServiceBinding['implementation'] {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = implementation[name];
    if (handler !== undefined) wrapped[name] = instrumentHandler(metrics, method.path, method.requestStream, method.responseStream, handler as never);
  }
  return wrapped as ServiceBinding['implementation'];
}
