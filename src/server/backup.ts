import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConclaveError } from '../base/errors.js';
import { bootstrapState } from '../raft/index.js';
import { MvccStore } from '../mvcc/index.js';
import { MemoryBackend, readSnapshot, writeSnapshot } from '../storage/backend/index.js';
import type { BackendEntry } from '../storage/backend/index.js';
import { DiskStorage, NodeFileSystem } from '../storage/index.js';
import { META_APPLIED, encodeMeta } from '../mvcc/meta.js';
import { entriesHash, unalignSnapshot } from './api/maintenance-service.js';
import type { MemberInfo } from './api/ports.js';
import { CLUSTER_STATE_KEY, ClusterState } from './cluster-state.js';
import { computeClusterId, computeMemberId } from './ids.js';
import { MEMBER_DEFAULTS, parseInitialCluster, validateInitialCluster } from './member-options.js';

/**
 * Backup files: what `Maintenance.Snapshot` streams (and so what both `conclave snapshot save`
 * and `etcdctl snapshot save` write): the backend's snapshot stream (CRC-32C inside), padded
 * to 512 bytes, then the SHA-256 of all that as a 32-byte trailer. Reading one checks both.
 */
export function readBackupFile(file: Uint8Array): BackendEntry[] {
  let stream: Uint8Array;
  try {
    stream = unalignSnapshot(file);
  } catch (error) {
    throw new ConclaveError('ERR_SNAPSHOT_INVALID', `not a Conclave snapshot file: ${(error as Error).message}`, { cause: error });
  }
  try {
    return [...readSnapshot([stream])];
  } catch (error) {
    throw new ConclaveError('ERR_SNAPSHOT_INVALID', `snapshot file is damaged: ${(error as Error).message}`, { cause: error });
  }
}

export interface BackupInfo {
  /** CRC-32C over every stored entry (what Maintenance.Hash reports for the same state). */
  readonly hash: number;
  readonly revision: number;
  /** Stored records of every bucket (etcd's TOTAL KEYS counts its bolt keys the same way). */
  readonly totalKeys: number;
  readonly totalSizeBytes: number;
}

export function backupInfo(file: Uint8Array): BackupInfo {
  const entries = readBackupFile(file);
  const backend = new MemoryBackend();
  backend.replaceAll(entries);
  const store = MvccStore.open(backend);
  return { hash: entriesHash(entries), revision: store.currentRevision, totalKeys: entries.length, totalSizeBytes: file.byteLength };
}

export interface RestoreOptions {
  readonly name: string;
  readonly dataDir: string;
  /** The new cluster, `name=url,...` (default: this member alone). */
  readonly initialCluster?: string;
  /** This member's peer URLs (default http://127.0.0.1:2380, as etcd's). */
  readonly initialAdvertisePeerUrls?: readonly string[];
  readonly initialClusterToken?: string;
}

/**
 * Builds a new member's data directory from a backup file, as `etcdutl snapshot restore`
 * does: the key space, leases and auth from the file, a new cluster (ids from the new
 * initial cluster and token, no alarms, no removed members) in place of the old one, and a
 * raft log that starts at the bootstrap snapshot. Run once per member of the new cluster
 * with the same file and initial cluster; each then starts with `conclave server` on its dir.
 */
export async function restoreDataDir(file: Uint8Array, options: RestoreOptions): Promise<{ memberId: bigint; clusterId: bigint }> {
  const entries = readBackupFile(file);
  const peerUrls = [...(options.initialAdvertisePeerUrls ?? MEMBER_DEFAULTS.listenPeerUrls)];
  const initialCluster = options.initialCluster ?? `${options.name}=${peerUrls.join(`,${options.name}=`)}`;
  validateInitialCluster(initialCluster, options.name, peerUrls.map((u) => `${new URL(u).protocol}//${new URL(u).host}`));
  if (existsSync(options.dataDir) && readdirSync(options.dataDir).length > 0) {
    throw new ConclaveError('ERR_DATA_DIR_EXISTS', `data-dir ${JSON.stringify(options.dataDir)} exists and is not empty; restore into a new directory`);
  }
  const token = options.initialClusterToken ?? MEMBER_DEFAULTS.initialClusterToken;
  const members: MemberInfo[] = [...parseInitialCluster(initialCluster)].map(([name, urls]) => ({
    id: computeMemberId(urls, token), name, peerUrls: urls, clientUrls: [], isLearner: false,
  }));
  const cluster = new ClusterState(computeClusterId(members.map((m) => m.id)));
  for (const m of members) cluster.members.set(m.id, m);
  const { snapshot, hardState } = bootstrapState(members.map((m) => m.id));
  const backend = new MemoryBackend();
  backend.replaceAll(entries);
  // The old cluster's membership and raft position do not carry over: the new log starts at
  // the bootstrap snapshot, so the store counts as applied up to it.
  backend.write([
    { bucket: 'meta', key: CLUSTER_STATE_KEY, value: cluster.encode() },
    { bucket: 'meta', key: META_APPLIED, value: encodeMeta({ index: snapshot.metadata.index, term: snapshot.metadata.term }) },
  ]);
  const data = Buffer.concat([...writeSnapshot(backend)]);
  const storage = await DiskStorage.open(new NodeFileSystem(), join(options.dataDir, 'member'), {});
  try {
    await storage.save({ snapshot: { ...snapshot, data }, hardState });
  } finally {
    await storage.close();
  }
  const me = members.find((m) => m.name === options.name)!;
  return { memberId: me.id, clusterId: cluster.clusterId };
}
