/**
 * The dashboard's HTTP app: the page, uPlot's files straight from node_modules, the state as
 * JSON, and Server-Sent Events that push a snapshot after every change. Read-only unless
 * started with `allowActions`: then POST /api/leases/<hex id>/revoke and POST
 * /api/elections/resign?key=... work, and only with the X-Conclave-Action header (which a
 * cross-site form cannot send).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { compare } from '../../client/index.js';
import type { Client } from '../../client/index.js';
import { DASHBOARD_PAGE } from './page.js';
import type { DashboardState } from './state.js';

/** Open event streams at most (each holds a socket and a snapshot loop). */
export const MAX_EVENT_STREAMS = 64;

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/uPlot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/assets/uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

export interface DashboardServer {
  /** http://host:port the page is served on. */
  readonly url: string;
  close(): Promise<void>;
}

export async function serveDashboard(state: DashboardState, client: Client, listen: URL, options: { allowActions: boolean }): Promise<DashboardServer> {
  if (listen.protocol !== 'http:') throw new Error(`the dashboard serves http:// only, got ${listen.href}`);
  const streams = new Set<ServerResponse>();
  const stop = new AbortController();
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'application/json', JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://dashboard');
    if (request.method === 'GET' && url.pathname === '/') return send(response, 200, 'text/html; charset=utf-8', DASHBOARD_PAGE);
    const asset = ASSETS[url.pathname];
    if (request.method === 'GET' && asset !== undefined) return send(response, 200, asset.type, readFileSync(require.resolve(asset.file)), 'public, max-age=3600');
    if (request.method === 'GET' && url.pathname === '/api/state') return send(response, 200, 'application/json', JSON.stringify(state.snapshot()));
    if (request.method === 'GET' && url.pathname === '/api/events') return events(request, response);
    if (request.method === 'POST' && url.pathname.startsWith('/api/')) return act(request, response, url);
    return send(response, 404, 'application/json', JSON.stringify({ error: `no route ${request.method} ${url.pathname}` }));
  }

  async function events(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (streams.size >= MAX_EVENT_STREAMS) return send(response, 503, 'application/json', JSON.stringify({ error: `at most ${MAX_EVENT_STREAMS} open dashboards` }));
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    streams.add(response);
    const gone = new AbortController();
    const signal = AbortSignal.any([gone.signal, stop.signal]);
    request.once('close', () => gone.abort());
    try {
      for await (const snapshot of state.updates(signal)) {
        if (!response.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`)) {
          // A page that does not read is dropped rather than buffered without bound.
          await new Promise<void>((resolve) => {
            response.once('drain', resolve);
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
      }
    } finally {
      streams.delete(response);
      response.end();
    }
  }

  async function act(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (!options.allowActions) return send(response, 403, 'application/json', JSON.stringify({ error: 'read-only dashboard: start it with --allow-actions to revoke leases or resign leaders' }));
    if (request.headers['x-conclave-action'] !== '1') return send(response, 403, 'application/json', JSON.stringify({ error: 'actions need the X-Conclave-Action: 1 header' }));
    const revoke = /^\/api\/leases\/([0-9a-f]{1,16})\/revoke$/.exec(url.pathname);
    if (revoke !== null) {
      await client.leaseRevoke(BigInt(`0x${revoke[1]}`));
      return send(response, 200, 'application/json', JSON.stringify({ revoked: revoke[1] }));
    }
    if (url.pathname === '/api/elections/resign') {
      const key = url.searchParams.get('key');
      const election = state.snapshot().elections.find((e) => e.leader.key === key);
      if (key === null || election === undefined) return send(response, 404, 'application/json', JSON.stringify({ error: `${JSON.stringify(key)} is not a current leader key` }));
      // Deleting the leader key is what a resign does; only if it is still that leadership.
      const result = await client.txn().if(compare.createRevision(key, '==', BigInt(election.leader.token))).do(client.delete(key));
      return send(response, result.succeeded ? 200 : 409, 'application/json', JSON.stringify({ resigned: result.succeeded ? key : null }));
    }
    return send(response, 404, 'application/json', JSON.stringify({ error: `no action ${url.pathname}` }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(listen.port || 80), listen.hostname.replace(/^\[|\]$/g, ''), () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close() {
      stop.abort();
      for (const stream of streams) stream.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-store'): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': cache, 'x-content-type-options': 'nosniff' });
  response.end(body);
}
