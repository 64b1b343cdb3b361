/**
 * The id of a member that joined a running cluster (MemberAdd, then a first start with
 * --initial-cluster-state existing), kept in `<dataDir>/member/joined-id` (etcd keeps its
 * node id in the WAL's metadata for the same reason).
 *
 * A bootstrap member's id is a function of its peer URLs and the cluster token, so it can be
 * computed again on every start. A joined member's id is not (MemberAdd mixes in the time),
 * and its replicated state cannot be asked on a restart: that state is rebuilt from the last
 * raft snapshot, which may predate the member's own addition (the memory engine always starts
 * from it; the leader sends a joiner its oldest snapshot). Looking the member up there by peer
 * URL found nothing, or worse, an earlier member with the same peer URL that was removed
 * before this one was added, so the restarted member took the removed id and stopped.
 */
import { ConclaveError } from '../base/errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { joinPath } from '../storage/file-system.js';

const FILE_NAME = 'joined-id';
const FORMAT = /^conclave-joined-id 1 ([0-9a-f]{1,16})\n$/;

/** Writes the id durably (temp file, fdatasync, rename, directory fsync) before the member takes part in raft. */
export async function saveJoinedId(fs: FileSystem, memberDir: string, memberId: bigint): Promise<void> {
  const path = joinPath(memberDir, FILE_NAME);
  const temp = `${path}.tmp`;
  const file = await fs.create(temp);
  try {
    await file.write(0, new TextEncoder().encode(`conclave-joined-id 1 ${memberId.toString(16)}\n`));
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temp, path);
  await fs.syncDir(memberDir);
}

/** The saved id, or undefined when this member bootstrapped its cluster (or its data dir predates the file). */
export async function loadJoinedId(fs: FileSystem, memberDir: string): Promise<bigint | undefined> {
  const path = joinPath(memberDir, FILE_NAME);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const match = FORMAT.exec(new TextDecoder().decode(bytes));
  if (match === null) throw new ConclaveError('ERR_JOINED_ID_CORRUPT', `${path} does not hold a member id; the data dir is damaged (remove the member and add it again on an empty data dir)`);
  return BigInt(`0x${match[1]}`);
}
