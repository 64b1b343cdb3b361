/**
 * Who a call is made by, passed explicitly from the gRPC guard to the handlers and on to
 * every proposal they make (no AsyncLocalStorage: on Node 20 one `run` turns promise hooks on
 * for the whole process, which every promise then pays for). A proposal with no caller is
 * the member's own (lease expiry, checkpoints, attributes, alarms, auto-compaction).
 */
import type { AuthInfo } from './store.js';

/** The identity of one call, as the guard resolved it. */
export interface CallIdentity {
  /** The authenticated user; undefined for a call without one (auth off, or no token or CN). */
  readonly info: AuthInfo | undefined;
  /** The raw token, re-resolved when a long-lived stream opens something later (watch create). */
  readonly token: string | undefined;
  readonly commonName: string | undefined;
}

/** The header fields of a proposal that say who made it; the applier re-checks writes with them. */
export interface ProposerStamp {
  readonly username: string;
  readonly authRevision: bigint;
  /** The member's own proposal: not checked against the auth store at apply time. */
  readonly internal: boolean;
}

const MEMBER_STAMP: ProposerStamp = { username: '', authRevision: 0n, internal: true };
const ANONYMOUS_STAMP: ProposerStamp = { username: '', authRevision: 0n, internal: false };

/** The stamp of a proposal made for `caller` (undefined: by the member itself). */
export function proposerStamp(caller: CallIdentity | undefined): ProposerStamp {
  if (caller === undefined) return MEMBER_STAMP;
  const info = caller.info;
  return info === undefined ? ANONYMOUS_STAMP : { username: info.username, authRevision: info.revision, internal: false };
}
