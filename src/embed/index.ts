/**
 * `conclave/server`: run a Conclave member inside your own process. The running member hands
 * out SDK clients that reach it in-process (no network, no serialization): `member.client()`.
 * This folder only composes src/server (the member) and the SDK (src/index.ts over
 * src/client), which do not import each other.
 */
import { Client } from '../index.js';
import type { ClientOptions } from '../index.js';
import { startMember as startServerMember } from '../server/index.js';
import type { MemberOptions, RunningMember } from '../server/index.js';

export type { MemberOptions, MemberInfo, MemberStatusInfo, RunningMember } from '../server/index.js';
export { MEMBER_DEFAULTS, ServerError } from '../server/index.js';

export interface EmbeddedMember extends RunningMember {
  /** A Client that calls this member in-process (other endpoints may be given for failover). */
  client(options?: Partial<ClientOptions>): Client;
}

export async function startMember(options: MemberOptions): Promise<EmbeddedMember> {
  const running = await startServerMember(options);
  return Object.assign(running, {
    client: (clientOptions: Partial<ClientOptions> = {}) => new Client({ ...clientOptions, embedded: [running.embedded(), ...(clientOptions.embedded ?? [])] } as ClientOptions),
  });
}
