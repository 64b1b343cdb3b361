/**
 * Runs a range of seeds and aggregates what they did, for the test suite and the CLI alike.
 */
import type { RaftTestingBugs } from '../../src/raft/index.js';
import type { SimulationResult } from './simulation.js';
import { runSimulation } from './simulation.js';

export interface SeedRangeSummary {
  seeds: number;
  steps: number;
  ticks: number;
  checks: number;
  committedEntries: number;
  leaders: number;
  readsChecked: number;
  crashes: number;
  confChanges: number;
  autoPromotions: number;
  messagesSent: number;
  messagesDropped: number;
  failures: SimulationResult[];
}

export function emptySummary(): SeedRangeSummary {
  return { seeds: 0, steps: 0, ticks: 0, checks: 0, committedEntries: 0, leaders: 0, readsChecked: 0, crashes: 0, confChanges: 0, autoPromotions: 0, messagesSent: 0, messagesDropped: 0, failures: [] };
}

export function addResult(summary: SeedRangeSummary, result: SimulationResult): void {
  summary.seeds += 1;
  summary.steps += result.steps;
  summary.ticks += result.ticks;
  summary.checks += result.checks;
  summary.committedEntries += result.committedEntries;
  summary.leaders += result.leaders;
  summary.readsChecked += result.readsChecked;
  summary.crashes += result.crashes;
  summary.confChanges += result.confChanges;
  summary.autoPromotions += result.autoPromotions;
  summary.messagesSent += result.messagesSent;
  summary.messagesDropped += result.messagesDropped;
  if (result.violation !== undefined) summary.failures.push(result);
}

export function mergeSummaries(into: SeedRangeSummary, other: SeedRangeSummary): void {
  for (const key of Object.keys(into) as Array<keyof SeedRangeSummary>) {
    if (key === 'failures') into.failures.push(...other.failures);
    else into[key] += other[key];
  }
}

export function runSeeds(from: number, count: number, bugs?: RaftTestingBugs, stopAtFirstFailure = false): SeedRangeSummary {
  const summary = emptySummary();
  for (let seed = from; seed < from + count; seed++) {
    const result = runSimulation({ seed, ...(bugs === undefined ? {} : { bugs }) });
    addResult(summary, result);
    if (stopAtFirstFailure && result.violation !== undefined) break;
  }
  return summary;
}

export function describeFailure(result: SimulationResult): string {
  const v = result.violation!;
  return `seed ${result.seed}: ${v.property} at step ${v.step}: ${v.detail}\n  replay: npm run sim -- --seed ${result.seed} --trace`;
}

export function describeSummary(s: SeedRangeSummary): string {
  return `seeds=${s.seeds} steps=${s.steps} ticks=${s.ticks} invariant-checks=${s.checks} committed-entries=${s.committedEntries} leaders=${s.leaders} reads-checked=${s.readsChecked} crashes=${s.crashes} conf-changes=${s.confChanges} auto-promotions=${s.autoPromotions} messages=${s.messagesSent} dropped=${s.messagesDropped} violations=${s.failures.length}`;
}
