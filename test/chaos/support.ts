/**
 * Shared by the chaos test files: the CI pass's length and thresholds (CHAOS_SECONDS, default
 * 180) and the assertion of a report against them.
 */
import { expect } from 'vitest';
import type { ChaosReport } from './run.js';
import { describeReport } from './run.js';
import { FAULT_KINDS } from './nemesis.js';
import type { FaultKind } from './nemesis.js';

/**
 * The CI passes run with CHAOS_CI=1 only, for now: on the shared 2-core development box they
 * do not reach the issue's bar yet. With the quota scheduling of nemesis.ts, 180 s passes
 * (both files side by side, 0 violations) gave etcd 8,800-10,300 operations, network faults
 * 21-27 of each kind, kill and pauses 17-19, churn 2-6 (its learners take 10-25 s to be in
 * sync even with no other fault); Conclave about 4,000-6,300 operations (a quarter to 40 %
 * timed out), network faults 28-30, member-out faults 4-6 each: a churn alone takes 11-12 s
 * there, and the cluster is unavailable through much of the overlapping faults. The
 * checkers' own tests and bite.test.ts always run.
 */
export const CHAOS_ENABLED = process.env.CHAOS_CI === '1';
export const CHAOS_SECONDS = Number(process.env.CHAOS_SECONDS ?? 180);
export const CHAOS_SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** The bar for the CI pass, scaled when CHAOS_SECONDS is shorter (a local try). */
export const MIN_OPERATIONS = Math.round(12_000 * Math.min(1, CHAOS_SECONDS / 180));
export const MIN_FAULTS_PER_KIND = Math.round(20 * Math.min(1, CHAOS_SECONDS / 180));

/** Disk faults go through Conclave's fault-injecting FileSystem; etcd's release binary has no such hook. */
export function kindsFor(system: 'conclave' | 'etcd'): FaultKind[] {
  return FAULT_KINDS.filter((k) => system === 'conclave' || k !== 'disk');
}

export function expectCleanPass(report: ChaosReport): void {
  console.log(describeReport(report));
  expect(report.violations).toEqual([]);
  expect(report.operations).toBeGreaterThanOrEqual(MIN_OPERATIONS);
  const few = kindsFor(report.system).filter((k) => (report.faults[k] ?? 0) < MIN_FAULTS_PER_KIND);
  expect(few.map((k) => `${k}=${report.faults[k] ?? 0}`)).toEqual([]);
  if (report.system === 'conclave') expect(report.engines).toEqual(['lmdb', 'memory']);
}
