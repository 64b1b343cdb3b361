// Method: an application-style OpenTelemetry setup (sdk-metrics with an in-memory exporter,
// sdk-trace-base with an in-memory span exporter) installed globally, then a real lock cycle,
// a contended wait and a session loss on a Conclave member in this process. The spans and
// metric points the SDK recorded are asserted, and the plain event hook sees the same cycle.
import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { Session } from '../../src/lease/index.js';
import { Mutex } from '../../src/lock/index.js';
import { onConclaveEvent } from '../../src/telemetry/index.js';
import type { ConclaveEvent } from '../../src/telemetry/index.js';
import { conclaveSingleMember } from '../conformance/targets.js';
import type { RunningTarget } from '../conformance/targets.js';
import { waitFor } from '../support/wait.js';

describe('OpenTelemetry spans and metrics', () => {
  let running: RunningTarget;
  const clients: Client[] = [];
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const events: ConclaveEvent[] = [];
  let unsubscribe: () => void = () => {};

  const client = (): Client => {
    const c = new Client({ ...running.connection, namespace: 'otel/' });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    unsubscribe = onConclaveEvent((event) => events.push(event));
    running = await conclaveSingleMember.start();
  });

  afterAll(async () => {
    unsubscribe();
    await Promise.all(clients.map((c) => c.close()));
    await running?.stop();
    metrics.disable();
    trace.disable();
  });

  async function metric(name: string): Promise<MetricData | undefined> {
    metricExporter.reset();
    await reader.forceFlush();
    for (const resource of metricExporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        const found = scope.metrics.find((m) => m.descriptor.name === name);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  const points = async (name: string): Promise<Array<DataPoint<unknown>>> => (await metric(name))?.dataPoints ?? [];
  const histogramPoints = async (name: string): Promise<Array<DataPoint<Histogram>>> => (await points(name)) as Array<DataPoint<Histogram>>;
  const finished = (name: string, key?: string): ReadableSpan[] => spans.getFinishedSpans().filter((s) => s.name === name && (key === undefined || s.attributes['conclave.lock.key'] === key));

  it('a lock cycle: acquire and hold spans; wait, hold and contention points', async () => {
    const session = await Session.create(client(), { ttlSeconds: 10 });
    const held = await new Mutex(session, 'cycle').lock();
    await held.unlock();
    const [acquire] = finished('conclave.lock.acquire', held.key);
    expect(acquire?.attributes).toMatchObject({ 'conclave.lock.name': 'cycle', 'conclave.lock.kind': 'mutex', 'conclave.lock.waiters_ahead': 0, 'conclave.lock.token': held.token.toString() });
    const [hold] = finished('conclave.lock.hold', held.key);
    expect(hold?.status.code).toBe(SpanStatusCode.UNSET);
    expect(hold!.parentSpanContext).toBeUndefined();
    const wait = (await histogramPoints('conclave.lock.wait.duration')).find((p) => p.attributes['conclave.outcome'] === 'acquired');
    expect(wait?.value.count).toBe(1);
    const holdPoint = (await histogramPoints('conclave.lock.hold.duration')).find((p) => p.attributes['conclave.end'] === 'released');
    expect(holdPoint?.value.count).toBe(1);
    const contention = await histogramPoints('conclave.lock.contention');
    expect(contention[0]?.value).toMatchObject({ count: 1, sum: 0 });
    expect(events.filter((e) => e.type.startsWith('lock.')).map((e) => e.type)).toEqual(['lock.contention', 'lock.acquired', 'lock.released']);
  });

  it('a contended wait: the waiter records one contender ahead', async () => {
    const [s1, s2] = await Promise.all([Session.create(client(), { ttlSeconds: 10 }), Session.create(client(), { ttlSeconds: 10 })]);
    const first = await new Mutex(s1, 'contended').lock();
    const waiting = new Mutex(s2, 'contended').lock();
    await waitFor(async () => expect((await s1.client.get('contended/').prefix()).kvs).toHaveLength(2));
    await waitFor(() => expect(events.some((e) => e.type === 'lock.contention' && e.name === 'contended' && e.waitersAhead === 1)).toBe(true));
    await first.unlock();
    const second = await waiting;
    await second.unlock();
    const [acquire] = finished('conclave.lock.acquire', second.key);
    expect(acquire?.attributes['conclave.lock.waiters_ahead']).toBe(1);
    const contention = await histogramPoints('conclave.lock.contention');
    expect(contention[0]?.value).toMatchObject({ count: 3, sum: 1 });
    const wait = (await histogramPoints('conclave.lock.wait.duration')).find((p) => p.attributes['conclave.outcome'] === 'acquired');
    expect(wait?.value.count).toBe(3);
  });

  it('a session loss: the hold span ends in error, losses and session losses are counted, keep-alive latency recorded', async () => {
    const owner = client();
    const session = await Session.create(owner, { ttlSeconds: 2 });
    const held = await new Mutex(session, 'loss').lock();
    await waitFor(async () => expect((await histogramPoints('conclave.session.keepalive.latency'))[0]?.value.count ?? 0).toBeGreaterThan(0), { timeout: 20_000 });
    await client().leaseRevoke(session.leaseId);
    await waitFor(() => expect(held.signal.reason).toMatchObject({ code: 'ERR_LOCK_LOST' }));
    await waitFor(() => expect(session.lost).toBe(true), { timeout: 20_000 });
    const [hold] = finished('conclave.lock.hold', held.key);
    expect(hold?.status.code).toBe(SpanStatusCode.ERROR);
    const cause = hold!.attributes['conclave.cause'];
    expect(['key-deleted', 'session']).toContain(cause);
    const losses = await points('conclave.lock.losses');
    expect(losses.find((p) => p.attributes['conclave.cause'] === cause)?.value).toBe(1);
    const sessionLosses = await points('conclave.session.losses');
    expect(sessionLosses.reduce((n, p) => n + (p.value as number), 0)).toBe(1);
    expect(events.some((e) => e.type === 'session.lost' && e.leaseId === session.leaseId)).toBe(true);
    expect(events.some((e) => e.type === 'lock.lost' && e.key === held.key)).toBe(true);
  }, 60_000);
});
