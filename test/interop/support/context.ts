/**
 * What the interop checks against a Conclave cluster of separate processes share: the
 * cluster (test/integration/support/cluster.ts), a real etcd 3.4 for the differential
 * scripts, and the summary printed at the end (which etcdctl commands passed, how many
 * differential comparisons were made). Filled in by the test file's beforeAll.
 */
import type { EtcdCluster } from '../../support/etcd.js';
import type { ConclaveCluster } from '../../integration/support/cluster.js';

export interface InteropSummary {
  /** etcdctl commands whose checks passed, in the order they ran. */
  readonly etcdctl: string[];
  /** etcd3 npm client areas whose checks passed. */
  readonly etcd3: string[];
  /** Differential transcript entries compared equal, and scripts run. */
  differentialEntries: number;
  differentialScripts: number;
}

export interface InteropContext {
  readonly cluster: ConclaveCluster;
  /** Undefined when etcd is missing locally (the differential checks are skipped). */
  readonly etcd: EtcdCluster | undefined;
  readonly summary: InteropSummary;
}

/** JSON.parse that keeps 64-bit integers (ids) exact, as strings. */
export function parseJsonKeepingIds(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

export function formatSummary(summary: InteropSummary): string {
  return [
    `etcdctl 3.4 against 3 conclave server processes: ${summary.etcdctl.length} commands pass:`,
    `  ${summary.etcdctl.join('; ')}`,
    `etcd3 npm client: ${summary.etcd3.join(', ')}`,
    `differential vs etcd 3.4: ${summary.differentialScripts} scripts, ${summary.differentialEntries} response comparisons equal`,
  ].join('\n');
}
