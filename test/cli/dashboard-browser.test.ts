// The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
// 3 `conclave server` processes with locks held and waited for, an election with a candidate,
// registered services and keys; the page must show the leader, the lock holder and its waiters
// in order, lease TTLs, the election and the services, and follow a lock changing hands (pushed
// over SSE, no reload). Then `conclave dashboard` as a process against real etcd 3.4, where
// /metrics exists: the charts must have data. And `conclave server --listen-dashboard-url`
// serves the page for its own member. Screenshots go to test-artifacts/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Election, Mutex, ServiceRegistry } from '../../src/index.js';
import type { HeldLock, Session } from '../../src/index.js';
import { startDashboard } from '../../src/cli/dashboard/index.js';
import type { DashboardServer } from '../../src/cli/dashboard/index.js';
import { missingBinaries } from '../support/binaries.js';
import { startEtcd } from '../support/etcd.js';
import type { EtcdCluster } from '../support/etcd.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { ConclaveCluster } from '../integration/support/cluster.js';
import { repoRoot } from '../integration/support/conclave-process.js';
import { CliProcess } from './support/cli-process.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = missingBinaries('etcd', 'chromium');
const artifacts = join(repoRoot, 'test-artifacts');
const processes: CliProcess[] = [];
let browser: Browser;

beforeAll(async () => {
  if (skip !== undefined) return;
  mkdirSync(artifacts, { recursive: true });
  // --no-sandbox: the suite runs as root in CI containers, where Chromium's sandbox cannot start.
  browser = await chromium.launch({ executablePath: existsSync(CHROMIUM) ? CHROMIUM : 'chromium', args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(processes.map((p) => p.killAll()));
});

interface Scenario {
  readonly sessions: Session[];
  readonly holder: HeldLock;
  readonly waiters: Promise<HeldLock>[];
  readonly waiterKeys: string[];
  close(): Promise<void>;
}

/** Locks (a holder and two waiters in order), an election with a candidate, two services, keys. */
async function populate(client: Client): Promise<Scenario> {
  const sessions = await Promise.all([0, 1, 2, 3, 4].map(() => client.session({ ttlSeconds: 30 })));
  const count = async (prefix: string) => (await client.get(prefix).prefix()).kvs.length;
  const holder = await new Mutex(sessions[0]!, 'orders').lock();
  const waiters: Promise<HeldLock>[] = [];
  const waiterKeys: string[] = [];
  for (const session of sessions.slice(1, 3)) {
    const mutex = new Mutex(session, 'orders');
    const waiting = mutex.lock();
    // Still waiting when a test ends early: closing its session rejects it, which is expected.
    waiting.catch(() => {});
    waiters.push(waiting);
    waiterKeys.push(mutex.key);
    await waitFor(async () => expect(await count('orders/')).toBe(waiters.length + 1));
  }
  const leadership = await new Election(sessions[3]!, 'scheduler').campaign('node-a');
  const candidate = new Election(sessions[4]!, 'scheduler').campaign('node-b');
  await waitFor(async () => expect(await count('scheduler/')).toBe(2));
  const registry = new ServiceRegistry(client);
  const registrations = [
    await registry.register({ service: 'api', id: 'api-1', address: '10.0.0.1:8080', metadata: { zone: 'a' } }),
    await registry.register({ service: 'api', id: 'api-2', address: '10.0.0.2:8080', healthCheck: { check: () => false, intervalMs: 50 } }),
  ];
  await client.put('config/feature-x', 'on');
  await client.put('config/limit', '100');
  return {
    sessions, holder, waiters, waiterKeys,
    async close() {
      for (const r of registrations) await r.deregister();
      await leadership.resign();
      candidate.catch(() => {});
      for (const s of sessions) await s.close();
    },
  };
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector))?.trim() ?? '';
}

async function waitersShown(page: Page): Promise<string[]> {
  return page.$$eval('[data-lock="orders"] [data-waiter]', (items) => items.map((li) => li.getAttribute('data-waiter') ?? ''));
}

/** What every target's page must show for the populated scenario. */
async function assertScenario(page: Page, scenario: Scenario): Promise<void> {
  await waitFor(async () => expect(await text(page, '[data-lock="orders"] .holder')).toBe(scenario.holder.key), { timeout: 30_000 });
  expect(await text(page, '[data-lock="orders"] .token')).toBe(scenario.holder.token.toString());
  expect(await waitersShown(page)).toEqual(scenario.waiterKeys);
  expect(await text(page, '[data-election="scheduler"] .leader-value')).toBe('node-a');
  expect(await text(page, '[data-election="scheduler"] .candidates')).toContain('node-b');
  await waitFor(async () => expect(await text(page, '[data-service="api/api-2"]')).toContain('unhealthy'), { timeout: 30_000 });
  expect(await text(page, '[data-service="api/api-1"]')).toContain('10.0.0.1:8080');
  // The session leases with their TTL left (granted 30 s; at most 30 shown, and still alive).
  const ttl = Number((await text(page, `[data-lease="${scenario.sessions[0]!.leaseId.toString(16)}"] .ttl`)).replace(' s', ''));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(30);
  await page.fill('[data-testid=prefix]', 'config/');
  await waitFor(async () => expect(await text(page, '[data-testid=keys]')).toContain('config/feature-x'));
  expect(await text(page, '[data-testid=keys]')).not.toContain('orders/');
}

describe.skipIf(skip !== undefined)('the dashboard in headless Chromium', () => {
  describe('against 3 conclave server processes', () => {
    let cluster: ConclaveCluster;
    let client: Client;
    let dashboard: DashboardServer;

    beforeAll(async () => {
      cluster = await ConclaveCluster.start({ members: 3, engine: 'memory' });
      client = new Client({ endpoints: cluster.endpoints(), callTimeoutMs: 15_000 });
      dashboard = await startDashboard({ client, listenUrl: 'http://127.0.0.1:0', refreshMs: 500 });
    }, 120_000);

    afterAll(async () => {
      await dashboard?.close();
      await client?.close();
      await cluster?.stop();
    });

    it('shows leader, members, locks with waiters, election, leases, services and keys, and follows a lock handoff', async () => {
      const scenario = await populate(client);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      try {
        await page.goto(`${dashboard.url}/`);
        const status = await client.status();
        const leaderName = (await client.memberList()).find((m) => m.id === status.leader)!.name;
        await waitFor(async () => expect(await text(page, '[data-testid=leader]')).toContain(`leader: ${leaderName}`), { timeout: 30_000 });
        for (const node of cluster.nodes) {
          await waitFor(async () => expect(await text(page, `[data-member="${node.name}"] .role`)).toMatch(/^(leader|follower)$/), { timeout: 30_000 });
        }
        await assertScenario(page, scenario);
        // Charts appear once a member serves etcd's metric names on /metrics; until then the
        // page says so per member instead of drawing empty charts as if idle.
        const servesMetrics = await fetch(`${cluster.nodes[0]!.spec.clientUrl}/metrics`).then((r) => r.ok, () => false);
        if (servesMetrics) {
          await waitFor(async () => expect(Number(await page.getAttribute('[data-testid=chart-ops]', 'data-points'))).toBeGreaterThan(0), { timeout: 30_000 });
        } else {
          await waitFor(async () => expect(await page.$$eval('[data-testid=metrics-unavailable]', (els) => els.map((e) => e.textContent ?? '')))
            .toEqual(cluster.nodes.map(() => expect.stringMatching(/^m\d: metrics unavailable \(.+\)$/))), { timeout: 30_000 });
        }
        await page.screenshot({ path: join(artifacts, 'dashboard-conclave.png'), fullPage: true });

        // The holder unlocks: the first waiter holds, the second still waits; the page follows without a reload.
        const revisionBefore = await page.getAttribute('body', 'data-revision');
        await scenario.holder.unlock();
        const next = await scenario.waiters[0]!;
        await waitFor(async () => expect(await text(page, '[data-lock="orders"] .holder')).toBe(scenario.waiterKeys[0]), { timeout: 30_000 });
        expect(await text(page, '[data-lock="orders"] .token')).toBe(next.token.toString());
        expect(await waitersShown(page)).toEqual([scenario.waiterKeys[1]]);
        expect(await page.getAttribute('body', 'data-revision')).not.toBe(revisionBefore);
        await page.screenshot({ path: join(artifacts, 'dashboard-conclave-handoff.png'), fullPage: true });
        await next.unlock();
        await (await scenario.waiters[1]!).unlock();
      } finally {
        await page.close();
        await scenario.close();
      }
    }, 180_000);
  });

  describe('against real etcd 3.4 (conclave dashboard as a process)', () => {
    let etcd: EtcdCluster;
    let client: Client;

    beforeAll(async () => {
      etcd = await startEtcd({ members: 3 });
      client = new Client({ endpoints: etcd.endpoints, callTimeoutMs: 15_000 });
    }, 120_000);

    afterAll(async () => {
      await client?.close();
      await etcd?.stop();
    });

    it('shows the same views, and charts with data from each member\'s /metrics', async () => {
      const [port] = await freePorts(1);
      const dashboard = new CliProcess(['dashboard', '--endpoints', etcd.endpoints.join(','), '--listen', `http://127.0.0.1:${port}`, '--refresh', '500']);
      processes.push(dashboard);
      const scenario = await populate(client);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      try {
        await waitFor(() => expect(dashboard.stdout, dashboard.describe()).toContain(`dashboard at http://127.0.0.1:${port}/`), { timeout: 60_000 });
        await page.goto(`http://127.0.0.1:${port}/`);
        await assertScenario(page, scenario);
        // Writes while the page watches, so the rates are not all zero.
        for (let i = 0; i < 20; i++) await client.put(`load/${i}`, 'x');
        for (const chart of ['ops', 'fsync', 'watch']) {
          await waitFor(async () => expect(Number(await page.getAttribute(`[data-testid=chart-${chart}]`, 'data-points'))).toBeGreaterThan(2), { timeout: 30_000 });
          expect(await page.$(`[data-testid=chart-${chart}] canvas`)).not.toBeNull();
        }
        expect(await page.$('[data-testid=metrics-unavailable]')).toBeNull();
        const leaderRows = await page.$$eval('[data-testid=members] tr.leader', (rows) => rows.length);
        expect(leaderRows).toBe(1);
        await page.fill('[data-testid=prefix]', '');
        await page.screenshot({ path: join(artifacts, 'dashboard-etcd.png'), fullPage: true });
      } finally {
        await page.close();
        await scenario.close();
        dashboard.signal('SIGINT');
        expect(await dashboard.exited).toBe(0);
      }
    }, 180_000);
  });

  it('conclave server --listen-dashboard-url serves the page for its own member', async () => {
    const [client, peer, web] = await freePorts(3);
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dataDir = mkdtempSync(join(tmpdir(), 'conclave-dash-'));
    const server = new CliProcess(['server', '-name', 'solo', '--data-dir', dataDir, `--listen-client-urls=http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `solo=http://127.0.0.1:${peer}`, '--listen-dashboard-url', `http://127.0.0.1:${web}`]);
    processes.push(server);
    const page = await browser.newPage();
    try {
      await waitFor(() => expect(server.stderr, server.describe()).toMatch(/serving the dashboard url=http:\/\/127\.0\.0\.1:\d+\//), { timeout: 60_000 });
      await page.goto(`http://127.0.0.1:${web}/`);
      await waitFor(async () => expect(await text(page, '[data-testid=leader]')).toMatch(/^leader: solo \([0-9a-f]+\)$/), { timeout: 30_000 });
      expect(await text(page, '[data-member="solo"] .role')).toBe('leader');
      // Actions are off: the read-only app refuses them.
      const refused = await fetch(`http://127.0.0.1:${web}/api/leases/1/revoke`, { method: 'POST', headers: { 'X-Conclave-Action': '1' } });
      expect(refused.status).toBe(403);
    } finally {
      await page.close();
      server.signal('SIGTERM');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
