/**
 * The resource side of fencing: remember the highest token seen per resource and refuse
 * older ones. A holder that was paused past its lease and resumes still carries its old token;
 * the next holder's token is larger, so once the resource has seen the new one, the stale
 * holder's writes are rejected.
 */
import { InvalidOptionError, requireInteger } from '../base/index.js';
import { ConclaveError } from '../base/index.js';
import { StaleTokenError } from './errors.js';

export interface FencingGuardOptions {
  /** Resources tracked at most; a new resource beyond it is refused (forgetting one would be unsafe). Default 100000. */
  readonly maxResources?: number;
}

export class FencingGuard {
  private readonly highest = new Map<string, bigint>();
  private readonly maxResources: number;

  constructor(options: FencingGuardOptions = {}) {
    this.maxResources = requireInteger('maxResources', options.maxResources ?? 100_000, 1);
  }

  /**
   * Accepts `token` for `resource` if it is at least the highest seen (the same holder may write
   * many times) and records it; throws StaleTokenError otherwise.
   */
  check(resource: string, token: bigint): void {
    if (typeof token !== 'bigint' || token < 1n) throw new InvalidOptionError('token', 'must be a positive bigint fencing token');
    const seen = this.highest.get(resource);
    if (seen !== undefined && token < seen) throw new StaleTokenError(resource, token, seen);
    if (seen === undefined && this.highest.size >= this.maxResources) {
      throw new ConclaveError('ERR_FENCING_GUARD_FULL', `fencing guard tracks ${this.maxResources} resources already`);
    }
    if (seen === undefined || token > seen) this.highest.set(resource, token);
  }

  /** Like check, but answers false instead of throwing for a stale token. */
  accept(resource: string, token: bigint): boolean {
    try {
      this.check(resource, token);
      return true;
    } catch (error) {
      if (error instanceof StaleTokenError) return false;
      throw error;
    }
  }

  /** The highest token accepted for `resource`, if any. */
  highestToken(resource: string): bigint | undefined {
    return this.highest.get(resource);
  }

  /**
   * Runs `write` only if `token` is current for `resource`. The check and the write are not
   * atomic against other writers in other processes: a shared store should compare the token in
   * the write itself (see docs/lock.md); this helper suits a single-process resource.
   */
  async guard<T>(resource: string, token: bigint, write: () => Promise<T> | T): Promise<T> {
    this.check(resource, token);
    return await write();
  }
}
