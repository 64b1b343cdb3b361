import type { IncomingMessage, ServerResponse } from 'node:http';
import { clusterVersion } from '../version.js';

/** What the HTTP endpoints need from the member (declared by the consumer). */
export interface HttpEndpointsTarget {
  leaderId(): bigint;
  alarms(): readonly { readonly memberId: bigint; readonly alarm: number }[];
  linearizableReadBarrier(signal?: AbortSignal): Promise<void>;
  isStopped(): boolean;
}

export interface MetricsText {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface HttpEndpointsOptions {
  readonly version: string;
  /** How long /health and /readyz wait for a linearizable read (etcd: about a request timeout; default 2 s). */
  readonly readTimeoutMs?: number;
}

/** etcd's alarm names by type. */
const ALARM_NAMES: Record<number, string> = { 1: 'NOSPACE', 2: 'CORRUPT' };

/**
 * The HTTP/1.1 endpoints etcd serves beside gRPC: `/metrics` (Prometheus text), `/health`
 * (etcd's JSON; false, with 503, without a leader, with an active alarm, or when a
 * linearizable read fails), `/livez` (the process answers), `/readyz` (it can serve a
 * linearizable read) and `/version`. Anything else is 404.
 */
export function httpEndpoints(target: HttpEndpointsTarget, metrics: MetricsText, options: HttpEndpointsOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const readTimeoutMs = options.readTimeoutMs ?? 2000;
  const versionBody = JSON.stringify({ etcdserver: options.version, etcdcluster: clusterVersion(options.version) });

  /** Undefined when healthy, else the reason (etcd 3.5's "reason" field). */
  const unhealthyReason = async (): Promise<string | undefined> => {
    if (target.isStopped()) return 'server stopped';
    const alarms = target.alarms();
    if (alarms.length > 0) return `alarm activated: ${alarms.map((a) => ALARM_NAMES[a.alarm] ?? String(a.alarm)).join(',')}`;
    if (target.leaderId() === 0n) return 'no leader';
    try {
      await target.linearizableReadBarrier(AbortSignal.timeout(readTimeoutMs));
    } catch (error) {
      return `linearizable read failed: ${(error as Error).message}`;
    }
    return undefined;
  };

  const send = (res: ServerResponse, status: number, contentType: string, body: string): void => {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
      return;
    }
    const answer = async (): Promise<void> => {
      switch (path) {
        case '/metrics':
          send(res, 200, metrics.contentType, await metrics.text());
          return;
        case '/health': {
          const reason = await unhealthyReason();
          send(res, reason === undefined ? 200 : 503, 'application/json', JSON.stringify({ health: String(reason === undefined), reason: reason ?? '' }));
          return;
        }
        case '/livez':
          if (target.isStopped()) send(res, 503, 'text/plain; charset=utf-8', '[-]serializable_read failed: server stopped\n');
          else send(res, 200, 'text/plain; charset=utf-8', 'ok');
          return;
        case '/readyz': {
          const reason = await unhealthyReason();
          if (reason === undefined) send(res, 200, 'text/plain; charset=utf-8', 'ok');
          else send(res, 503, 'text/plain; charset=utf-8', `[-]ready failed: ${reason}\n`);
          return;
        }
        case '/version':
          send(res, 200, 'application/json', versionBody);
          return;
        default:
          send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
      }
    };
    answer().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${(error as Error).message}\n`);
      else res.destroy();
    });
  };
}
