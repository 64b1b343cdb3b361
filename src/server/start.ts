import { createGrpcServer } from './api/grpc-server.js';
import type { GrpcApiServer } from './api/grpc-server.js';
import type { MemberStatusInfo } from './api/ports.js';
import { Member } from './member.js';
import { createInProcessEndpoint } from './in-process.js';
import type { InProcessEndpoint } from './in-process.js';
import type { MemberOptions } from './member-options.js';
import { MEMBER_DEFAULTS } from './member-options.js';
import { createServer } from 'node:net';
import { ConclaveError } from '../base/errors.js';
import { NetworkPeerTransport } from './peer/network-peer-transport.js';
import { tlsSettingsFor } from './tls.js';
import { ServerCredentials } from '@grpc/grpc-js';
import { MemberMetrics } from './metrics/member-metrics.js';
import { httpEndpoints } from './http/http-endpoints.js';
import { listenHttp, listenShared, listenSharedTls } from './http/shared-listener.js';
import type { SharedListener } from './http/shared-listener.js';
import { CONCLAVE_VERSION } from './version.js';

/** A running member with its client and peer listeners. */
export interface RunningMember {
  readonly member: Member;
  /** The client URLs actually bound (port 0 in the options resolves to a real port). */
  readonly clientUrls: readonly string[];
  readonly peerUrls: readonly string[];
  status(): MemberStatusInfo;
  /** This member as an in-process endpoint: calls skip the network and serialization (for the SDK's `embedded` option). */
  embedded(): InProcessEndpoint;
  /** Hands leadership away if leading, stops accepting requests, drains and closes. */
  close(): Promise<void>;
  /** Stops at once. */
  destroy(error?: unknown): Promise<void>;
}

/**
 * Starts a Conclave member inside this process: raft, storage and the key space, the peer
 * transport on `listenPeerUrls`, and the etcd v3 gRPC API on `listenClientUrls`. The same
 * function backs the `conclave server` command.
 */
export async function startMember(options: MemberOptions): Promise<RunningMember> {
  // Like etcd, make sure the listen addresses are free before touching the data directory: a
  // start that fails on a busy port must not leave a freshly bootstrapped member behind.
  await assertAddressesFree([...(options.listenClientUrls ?? MEMBER_DEFAULTS.listenClientUrls), ...(options.listenPeerUrls ?? MEMBER_DEFAULTS.listenPeerUrls), ...(options.listenMetricsUrls ?? [])]);
  let transport: NetworkPeerTransport | undefined;
  const metrics = new MemberMetrics();
  const member = await Member.start(options, (m, events) => {
    transport = new NetworkPeerTransport({
      memberId: m.memberId,
      listenPeerUrls: m.options.listenPeerUrls,
      tls: m.options.peerTls,
      clock: m.options.clock,
      logger: m.options.logger,
      ...(m.options.peerMessageFilter === undefined ? {} : { filter: m.options.peerMessageFilter }),
      handlers: { clusterId: () => m.clusterId(), isRemoved: (id) => m.cluster.removed.has(id), unary: m.peerHandlers() },
      events,
      onRoundTrip: (peer, seconds) => metrics.peerRoundTripSeconds(peer.toString(16), seconds),
    });
    return transport;
  }, metrics);
  metrics.attach(member.metricsSource());
  let api: GrpcApiServer | undefined;
  const httpListeners: SharedListener[] = [];
  try {
    const peerPorts = await transport!.listen();
    api = createGrpcServer(member, {
      clock: member.options.clock,
      maxRequestBytes: member.options.maxRequestBytes,
      quotaBackendBytes: member.options.quotaBackendBytes,
      metrics,
      bcryptCost: member.options.bcryptCost,
    });
    const http = httpEndpoints(member, metrics, { version: CONCLAVE_VERSION });
    const clientUrls: string[] = [];
    for (const url of member.options.listenClientUrls) {
      const parsed = new URL(url);
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      // gRPC and HTTP/1.1 on one port, as etcd serves them: by the first bytes on http, by ALPN on https.
      const h2 = api.server.createConnectionInjector(ServerCredentials.createInsecure());
      const listener = parsed.protocol === 'https:'
        ? await listenSharedTls(host, Number(parsed.port), tlsSettingsFor(url, member.options.clientTls), h2, http)
        : await listenShared(host, Number(parsed.port), h2, http);
      httpListeners.push(listener);
      const port = listener.port;
      parsed.port = String(port);
      clientUrls.push(`${parsed.protocol}//${parsed.host}`);
    }
    const peerUrls = member.options.listenPeerUrls.map((url, i) => {
      const parsed = new URL(url);
      parsed.port = String(peerPorts[i]);
      return `${parsed.protocol}//${parsed.host}`;
    });
    for (const url of member.options.listenMetricsUrls) {
      const parsed = new URL(url);
      httpListeners.push(await listenHttp(parsed.hostname.replace(/^\[|\]$/g, ''), Number(parsed.port), http));
    }
    const closeHttp = (): Promise<void> => Promise.all(httpListeners.splice(0).map((l) => l.close())).then(() => undefined);
    let closing: Promise<void> | undefined;
    const stop = async (graceful: boolean, error?: unknown): Promise<void> => {
      if (graceful) await member.transferLeadershipAway();
      if (graceful) await api!.shutdown();
      else api!.forceShutdown();
      await closeHttp();
      if (error === undefined) await member.close();
      else await member.destroy(error);
    };
    const stopListening = (): void => {
      api?.forceShutdown();
      void closeHttp();
    };
    void member.stoppedPromise.then(stopListening, stopListening);
    return {
      member,
      clientUrls,
      peerUrls,
      status: () => member.status(),
      embedded: () => createInProcessEndpoint(member.options.name, api!.methods, () => !member.isStopped()),
      close: () => (closing ??= stop(true)),
      destroy: (error?: unknown) => (closing ??= stop(false, error)),
    };
  } catch (error) {
    api?.forceShutdown();
    await Promise.all(httpListeners.map((l) => l.close()));
    await member.destroy(error);
    throw error;
  }
}

/** Throws ERR_ADDRESS_IN_USE naming the first listen URL that cannot be bound (port 0 always can). */
async function assertAddressesFree(urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue; // resolveMemberOptions reports malformed URLs with the option's name
    }
    if (parsed.port === '0' || parsed.port === '') continue;
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (error: NodeJS.ErrnoException) => {
        reject(new ConclaveError('ERR_ADDRESS_IN_USE', `cannot listen on ${url}: ${error.code ?? error.message}`, { cause: error }));
      });
      probe.listen({ host, port: Number(parsed.port), exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}
