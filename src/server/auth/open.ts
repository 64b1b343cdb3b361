/** Builds a member's auth gate from its options and the store persisted in its backend. */
import type { Clock } from '../../base/clock.js';
import { AuthGate } from './gate.js';
import { AUTH_STATE_KEY, AuthStore } from './store.js';
import { tokenProviderFromSpec } from './tokens.js';

export interface AuthOptions {
  readonly authToken: string;
  readonly authTokenTtlSeconds: number;
  readonly clientCertAuthUsers: boolean;
  readonly clock: Clock;
}

interface MetaReader {
  get(bucket: 'meta', key: string): Uint8Array | undefined;
}

export async function openAuth(backend: MetaReader, options: AuthOptions): Promise<AuthGate> {
  const tokens = await tokenProviderFromSpec(options.authToken, options.clock, options.authTokenTtlSeconds);
  return new AuthGate(AuthStore.decode(backend.get('meta', AUTH_STATE_KEY)), tokens, options.clientCertAuthUsers);
}

/** After a snapshot restore: the store starts over from the backend (tokens of users that no longer exist are dropped). */
export function reloadAuth(gate: AuthGate, backend: MetaReader): void {
  const bytes = backend.get('meta', AUTH_STATE_KEY);
  const before = new Set(gate.store.users.keys());
  if (bytes === undefined) gate.store.load(new AuthStore().encode());
  else gate.store.load(bytes);
  for (const name of before) if (!gate.store.users.has(name)) gate.tokens.invalidateUser(name);
  if (!gate.store.enabled) gate.tokens.clear();
}
