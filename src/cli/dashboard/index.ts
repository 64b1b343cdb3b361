/** The web dashboard: a model of the cluster built on the SDK, served over HTTP with SSE updates. */
import type { Client, TlsOptions } from '../../client/index.js';
import { serveDashboard } from './http-app.js';
import type { DashboardServer } from './http-app.js';
import { DashboardState } from './state.js';

export interface StartDashboardOptions {
  readonly client: Client;
  /** http://host:port to listen on (port 0: any free port). */
  readonly listenUrl: string;
  readonly allowActions?: boolean;
  readonly servicesPrefix?: string;
  readonly refreshMs?: number;
  readonly tls?: TlsOptions;
}

/** Starts mirroring the cluster and serving the page; close() stops both (not the client). */
export async function startDashboard(options: StartDashboardOptions): Promise<DashboardServer> {
  const state = new DashboardState({
    client: options.client,
    allowActions: options.allowActions === true,
    ...(options.servicesPrefix === undefined ? {} : { servicesPrefix: options.servicesPrefix }),
    ...(options.refreshMs === undefined ? {} : { refreshMs: options.refreshMs }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  await state.start();
  try {
    const server = await serveDashboard(state, options.client, new URL(options.listenUrl), { allowActions: options.allowActions === true });
    return {
      url: server.url,
      async close() {
        await server.close();
        await state.stop();
      },
    };
  } catch (error) {
    await state.stop();
    throw error;
  }
}

export type { DashboardServer } from './http-app.js';
