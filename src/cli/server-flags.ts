import { readFileSync } from 'node:fs';
import type { MemberOptions } from '../server/index.js';
import { MEMBER_DEFAULTS } from '../server/index.js';
import type { FlagSpec } from './flags.js';
import { UsageError } from './flags.js';
import { LOG_LEVELS } from './stderr-logger.js';
import type { LogLevel } from './stderr-logger.js';

/** Which MemberOptions field a flag sets, and how its text becomes that field's value. */
type Conversion = 'string' | 'urls' | 'integer' | 'hours' | 'choice' | 'boolean';

interface ServerFlag extends FlagSpec {
  readonly option?: keyof MemberOptions;
  readonly conversion?: Conversion;
  readonly choices?: readonly string[];
}

const d = MEMBER_DEFAULTS;

/** `conclave server`'s flags: etcd's names and meanings where etcd has the same setting. */
export const SERVER_FLAGS: readonly ServerFlag[] = [
  { name: 'name', kind: 'value', option: 'name', conversion: 'string', description: 'human-readable name of this member', defaultText: d.name },
  { name: 'data-dir', kind: 'value', option: 'dataDir', conversion: 'string', valueName: 'path', description: 'where the WAL, snapshots and backend live', defaultText: '${name}.etcd' },
  { name: 'listen-client-urls', kind: 'value', option: 'listenClientUrls', conversion: 'urls', valueName: 'urls', description: 'URLs to serve the etcd v3 API on (comma-separated)', defaultText: d.listenClientUrls.join(',') },
  { name: 'advertise-client-urls', kind: 'value', option: 'advertiseClientUrls', conversion: 'urls', valueName: 'urls', description: 'client URLs published to the cluster', defaultText: 'the listen URLs' },
  { name: 'listen-peer-urls', kind: 'value', option: 'listenPeerUrls', conversion: 'urls', valueName: 'urls', description: 'URLs to serve raft traffic from peers on', defaultText: d.listenPeerUrls.join(',') },
  { name: 'initial-advertise-peer-urls', kind: 'value', option: 'initialAdvertisePeerUrls', conversion: 'urls', valueName: 'urls', description: 'this member\'s peer URLs as the cluster knows them', defaultText: 'the listen URLs' },
  { name: 'initial-cluster', kind: 'value', option: 'initialCluster', conversion: 'string', valueName: 'name=url,...', description: 'the members of the initial cluster', defaultText: 'this member alone' },
  { name: 'initial-cluster-state', kind: 'value', option: 'initialClusterState', conversion: 'choice', choices: ['new', 'existing'], valueName: 'new|existing', description: '"existing" to join a running cluster after MemberAdd', defaultText: d.initialClusterState },
  { name: 'initial-cluster-token', kind: 'value', option: 'initialClusterToken', conversion: 'string', description: 'distinguishes clusters bootstrapped from the same URLs', defaultText: d.initialClusterToken },
  { name: 'heartbeat-interval', kind: 'value', option: 'heartbeatIntervalMs', conversion: 'integer', valueName: 'ms', description: 'raft heartbeat interval in milliseconds', defaultText: String(d.heartbeatIntervalMs) },
  { name: 'election-timeout', kind: 'value', option: 'electionTimeoutMs', conversion: 'integer', valueName: 'ms', description: 'raft election timeout in milliseconds (at least 5 heartbeats)', defaultText: String(d.electionTimeoutMs) },
  { name: 'snapshot-count', kind: 'value', option: 'snapshotCount', conversion: 'integer', valueName: 'entries', description: 'applied entries between snapshots', defaultText: String(d.snapshotCount) },
  { name: 'experimental-snapshot-catchup-entries', kind: 'value', option: 'snapshotCatchUpEntries', conversion: 'integer', valueName: 'entries', description: 'entries kept behind a snapshot for slow followers (etcd 3.5\'s flag); fewer send a lagging member a snapshot sooner', defaultText: String(d.snapshotCatchUpEntries) },
  { name: 'quota-backend-bytes', kind: 'value', option: 'quotaBackendBytes', conversion: 'integer', valueName: 'bytes', description: 'backend size that raises the NOSPACE alarm', defaultText: String(d.quotaBackendBytes) },
  { name: 'auto-compaction-retention', kind: 'value', option: 'autoCompactionRetentionHours', conversion: 'hours', valueName: 'hours', description: 'keep this many hours of history, compacting periodically (0 = off; "1" or "1h")', defaultText: '0' },
  { name: 'max-request-bytes', kind: 'value', option: 'maxRequestBytes', conversion: 'integer', valueName: 'bytes', description: 'largest client request accepted', defaultText: String(d.maxRequestBytes) },
  { name: 'max-txn-ops', kind: 'value', option: 'maxTxnOps', conversion: 'integer', valueName: 'count', description: 'most operations in one txn', defaultText: String(d.maxTxnOps) },
  { name: 'cert-file', kind: 'value', option: 'certFile', conversion: 'string', valueName: 'path', description: 'PEM certificate served on https client URLs' },
  { name: 'key-file', kind: 'value', option: 'keyFile', conversion: 'string', valueName: 'path', description: 'PEM private key of --cert-file' },
  { name: 'trusted-ca-file', kind: 'value', option: 'trustedCaFile', conversion: 'string', valueName: 'path', description: 'PEM CA bundle that verifies client certificates' },
  { name: 'client-cert-auth', kind: 'boolean', option: 'clientCertAuth', conversion: 'boolean', description: 'require client certificates signed by --trusted-ca-file', defaultText: 'false' },
  { name: 'peer-cert-file', kind: 'value', option: 'peerCertFile', conversion: 'string', valueName: 'path', description: 'PEM certificate for https peer URLs, also presented when dialing peers' },
  { name: 'peer-key-file', kind: 'value', option: 'peerKeyFile', conversion: 'string', valueName: 'path', description: 'PEM private key of --peer-cert-file' },
  { name: 'peer-trusted-ca-file', kind: 'value', option: 'peerTrustedCaFile', conversion: 'string', valueName: 'path', description: 'PEM CA bundle that verifies peers (dialed and dialing)' },
  { name: 'peer-client-cert-auth', kind: 'boolean', option: 'peerClientCertAuth', conversion: 'boolean', description: 'require peer certificates signed by --peer-trusted-ca-file', defaultText: 'false' },
  // ---- issue 12 (operability): metrics listener ----
  { name: 'listen-metrics-urls', kind: 'value', option: 'listenMetricsUrls', conversion: 'urls', valueName: 'urls', description: 'extra http URLs serving /metrics, /health, /livez, /readyz and /version (the client URLs serve them too)', defaultText: 'none' },
  { name: 'auto-promote-learners', kind: 'boolean', option: 'autoPromoteLearners', conversion: 'boolean', description: 'the leader promotes a learner once it has kept up with the log for 3 election timeouts (--auto-promote-learners=false: by hand only)', defaultText: 'true' },
  // ---- end of issue 12 flags ----
  // ---- auth flags (issue 11) ----
  { name: 'auth-token', kind: 'value', option: 'authToken', conversion: 'string', valueName: 'spec', description: 'simple, or jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256', defaultText: d.authToken },
  { name: 'auth-token-ttl', kind: 'value', option: 'authTokenTtlSeconds', conversion: 'integer', valueName: 'seconds', description: 'how long a simple token lives after its last use', defaultText: String(d.authTokenTtlSeconds) },
  { name: 'bcrypt-cost', kind: 'value', option: 'bcryptCost', conversion: 'integer', valueName: 'cost', description: 'bcrypt cost of stored passwords (4..31)', defaultText: String(d.bcryptCost) },
  // ---- end auth flags ----
  { name: 'engine', kind: 'value', option: 'engine', conversion: 'choice', choices: ['memory', 'lmdb'], valueName: 'memory|lmdb', description: 'backend engine: memory (rebuilt from snapshot + WAL on start) or lmdb (on disk)', defaultText: d.engine },
  { name: 'listen-dashboard-url', kind: 'value', conversion: 'string', valueName: 'url', description: 'http://host:port to serve the web dashboard on, against this member\'s own client URL (off by default; read-only)' },
  { name: 'log-level', kind: 'value', conversion: 'choice', choices: LOG_LEVELS, valueName: 'level', description: 'debug, info, warn or error', defaultText: 'info' },
  { name: 'config-file', kind: 'value', valueName: 'path', description: 'JSON file whose keys are these flag names; flags on the command line win' },
  { name: 'help', kind: 'boolean', description: 'print this help' },
];

const TLS_REFUSAL = 'not supported by conclave server; give certificates with --cert-file/--key-file (--peer-cert-file/--peer-key-file for peers)';

/** etcd's TLS flags Conclave lacks: recognised, and refused with a clear reason instead of "unknown flag". */
export const REJECTED_SERVER_FLAGS: ReadonlyMap<string, string> = new Map(
  ['auto-tls', 'client-crl-file', 'peer-auto-tls', 'peer-crl-file', 'cipher-suites', 'peer-cert-allowed-cn', 'peer-cert-allowed-hostname', 'tls-min-version', 'tls-max-version']
    .map((name) => [name, TLS_REFUSAL]),
);

export interface ServerSettings {
  readonly options: MemberOptions;
  readonly logLevel: LogLevel;
  /** --listen-dashboard-url, when given. */
  readonly dashboardUrl?: string;
}

/** Largest config file read (it holds a few dozen settings). */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/**
 * Reads a JSON config file: an object whose keys are flag names (with or without leading
 * dashes) and whose values are strings, numbers, arrays of URL strings, or true/false for switches.
 */
export function readConfigFile(path: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Map<string, string> {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new UsageError(`--config-file: cannot read ${path}: ${(error as Error).message}`);
  }
  if (text.length > MAX_CONFIG_FILE_BYTES) throw new UsageError(`--config-file: ${path} is larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config-file: ${path} is not JSON (${(error as Error).message.replace(/\s+/g, ' ')}); YAML is not supported`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config-file: ${path} must hold a JSON object of flag names to values`);
  const values = new Map<string, string>();
  for (const [rawKey, value] of Object.entries(parsed)) {
    const key = rawKey.replace(/^--?/, '');
    const where = `--config-file ${path}: key ${JSON.stringify(rawKey)}`;
    const refusal = REJECTED_SERVER_FLAGS.get(key);
    if (refusal !== undefined) throw new UsageError(`${where}: ${refusal}`);
    const spec = SERVER_FLAGS.find((s) => s.name === key);
    if (spec === undefined || spec.conversion === undefined) throw new UsageError(`${where} is not a setting`);
    if (typeof value === 'string') values.set(key, value);
    else if (typeof value === 'number' && Number.isFinite(value)) values.set(key, String(value));
    else if (typeof value === 'boolean' && spec.kind === 'boolean') values.set(key, String(value));
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) values.set(key, value.join(','));
    else throw new UsageError(`${where} must be a string, a number or an array of strings${spec.kind === 'boolean' ? ' (or true/false)' : ''}`);
  }
  return values;
}

/** Turns raw flag values (config file first, then the command line over it) into member options. */
export function serverSettings(raw: ReadonlyMap<string, string>): ServerSettings {
  const options: Record<string, unknown> = {};
  let logLevel: LogLevel = 'info';
  let dashboardUrl: string | undefined;
  for (const [name, text] of raw) {
    const spec = SERVER_FLAGS.find((s) => s.name === name);
    if (spec === undefined || spec.conversion === undefined) continue;
    const value = convert(spec, text);
    if (name === 'log-level') logLevel = value as LogLevel;
    else if (name === 'listen-dashboard-url') dashboardUrl = dashboardListenUrl(value as string);
    else options[spec.option!] = value;
  }
  const name = (options.name as string | undefined) ?? MEMBER_DEFAULTS.name;
  // etcd's default data directory.
  options.dataDir ??= `${name}.etcd`;
  return { options: options as unknown as MemberOptions, logLevel, ...(dashboardUrl === undefined ? {} : { dashboardUrl }) };
}

function dashboardListenUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--listen-dashboard-url must be a URL such as http://127.0.0.1:2390, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' || url.port === '' || (url.pathname !== '/' && url.pathname !== '')) throw new UsageError(`--listen-dashboard-url must be http://host:port, got ${JSON.stringify(text)}`);
  return url.href;
}

function convert(spec: ServerFlag, text: string): unknown {
  const flag = `--${spec.name}`;
  switch (spec.conversion) {
    case 'string':
      if (text === '') throw new UsageError(`${flag} must not be empty`);
      return text;
    case 'urls':
      return text.split(',').map((u) => u.trim()).filter((u) => u !== '');
    case 'integer':
      if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(text)}`);
      return Number(text);
    case 'hours': {
      const match = /^(\d+)h?$/.exec(text);
      if (match === null) throw new UsageError(`${flag} must be a whole number of hours ("1" or "1h"), got ${JSON.stringify(text)}`);
      return Number(match[1]);
    }
    case 'boolean':
      // Go's flag package (so etcd) also takes 1/0 and t/f; the command line gives true/false.
      if (/^(true|t|1)$/i.test(text)) return true;
      if (/^(false|f|0)$/i.test(text)) return false;
      throw new UsageError(`${flag} must be true or false, got ${JSON.stringify(text)}`);
    case 'choice':
      if (!spec.choices!.includes(text)) throw new UsageError(`${flag} must be one of ${spec.choices!.join(', ')}, got ${JSON.stringify(text)}`);
      return text;
    default:
      return text;
  }
}

/**
 * Rewrites camelCase option names in a validation message as the flags that set them
 * ("needs trustedCaFile" -> "needs --trusted-ca-file"), so the operator reads flag names.
 */
export function withFlagNames(text: string): string {
  return text.replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (word) => {
    const flag = flagForOption(word);
    return flag === undefined ? word : `--${flag}`;
  });
}

/** The flag that sets a MemberOptions field (for naming it in a validation error). */
export function flagForOption(option: string): string | undefined {
  return SERVER_FLAGS.find((s) => s.option === option)?.name;
}
