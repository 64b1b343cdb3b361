/**
 * Output of the client commands: etcdctl's JSON (`-w json`: protobuf field names, 64-bit
 * numbers as bare JSON numbers, keys and values base64, zero fields left out) and boxed tables.
 */
import type { Header, KeyValue } from '../client/index.js';

const BIG = '\u0000big:';

/** JSON.stringify that writes bigints as bare numbers (exact, as Go's encoder does). */
export function etcdJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${BIG}${v}` : v));
  // JSON.stringify writes the NUL of the marker as \u0000, which no user string can contain raw.
  return text.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

/** Drops zero and empty fields, as Go's protobuf JSON with omitempty does. */
function omitZero(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== 0n && v !== 0 && v !== '' && v !== undefined && v !== false));
}

export function headerJson(header: Header): Record<string, unknown> {
  return omitZero({ cluster_id: header.clusterId, member_id: header.memberId, revision: header.revision, raft_term: header.raftTerm });
}

export function kvJson(kv: KeyValue): Record<string, unknown> {
  return omitZero({
    key: Buffer.from(kv.keyBytes).toString('base64'), create_revision: kv.createRevision, mod_revision: kv.modRevision,
    version: kv.version, value: Buffer.from(kv.valueBytes).toString('base64'), lease: kv.lease,
  });
}

/** A boxed table like etcdctl's `-w table`. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const row = (cells: readonly string[]): string => `|${widths.map((w, i) => ` ${(cells[i] ?? '').padEnd(w)} `).join('|')}|\n`;
  return line + row(headers.map((h) => h.toUpperCase())) + line + rows.map(row).join('') + line;
}

export function hex(id: bigint): string {
  return id.toString(16);
}
