import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { GrpcChannel } from '../../client/channel.js';
import { Maintenance, SnapshotRequestSchema } from '../../gen/etcdserverpb/rpc_pb.js';
import type { SnapshotResponse } from '../../gen/etcdserverpb/rpc_pb.js';
import { readBackupFile } from '../../server/backup.js';

/** Largest backup accepted from a member (the snapshot store's own limit). */
const MAX_BACKUP_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/**
 * Streams a member's snapshot into `file` (via `file.part`, renamed once complete and
 * checked: the SHA-256 trailer and the stream's own CRC), as `etcdctl snapshot save` does.
 * Resolves with the file's size in bytes.
 */
export async function saveSnapshot(endpoint: string, file: string, signal: AbortSignal): Promise<number> {
  const address = endpoint.replace(/^https?:\/\//, '');
  if (endpoint.startsWith('https://')) throw new Error('snapshot save over TLS is not supported yet; use an http client URL');
  const channel = new GrpcChannel(address, grpc.credentials.createInsecure(), {});
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    const stream = channel.serverStream(Maintenance.method.snapshot, create(SnapshotRequestSchema, {}), {}) as unknown as AsyncIterable<SnapshotResponse> & { cancel(): void };
    const onAbort = (): void => stream.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const message of stream) {
        total += message.blob.byteLength;
        if (total > MAX_BACKUP_BYTES) throw new Error(`snapshot larger than ${MAX_BACKUP_BYTES} bytes`);
        chunks.push(Buffer.from(message.blob));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  } finally {
    channel.close();
  }
  const bytes = Buffer.concat(chunks, total);
  readBackupFile(bytes); // refuses a truncated or damaged stream before anything is renamed into place
  const part = `${file}.part`;
  try {
    writeFileSync(part, bytes, { flush: true });
    renameSync(part, file);
  } catch (error) {
    rmSync(part, { force: true });
    throw error;
  }
  return bytes.byteLength;
}
