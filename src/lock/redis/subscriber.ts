/**
 * One pub/sub connection per Redis client, shared by every waiter of every RedisMutex on it,
 * opened when the first waiter arrives and closed when the last one leaves. Waiters are woken
 * by the release script's PUBLISH instead of polling.
 */
import type { Redis } from 'ioredis';

interface Channel {
  readonly listeners: Set<() => void>;
  readonly subscribed: Promise<unknown>;
}

class ReleaseSubscriber {
  private connection: Redis | undefined;
  private readonly channels = new Map<string, Channel>();

  constructor(private readonly redis: Redis) {}

  /** Calls `listener` on every release published to `channel`; resolves once subscribed. */
  async listen(channel: string, listener: () => void): Promise<() => Promise<void>> {
    if (this.connection === undefined) {
      const connection = this.redis.duplicate();
      connection.on('message', (name: string) => {
        for (const fn of this.channels.get(name)?.listeners ?? []) fn();
      });
      connection.on('error', () => {
        // Reconnects by itself; waiters also wake on the holder's TTL, so nothing is lost.
      });
      this.connection = connection;
    }
    const connection = this.connection;
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      entry = { listeners: new Set(), subscribed: connection.subscribe(channel) };
      this.channels.set(channel, entry);
    }
    entry.listeners.add(listener);
    await entry.subscribed;
    const current = entry;
    return async () => {
      current.listeners.delete(listener);
      if (current.listeners.size > 0 || this.channels.get(channel) !== current) return;
      this.channels.delete(channel);
      if (this.channels.size === 0 && this.connection === connection) {
        this.connection = undefined;
        connection.disconnect();
      } else {
        await connection.unsubscribe(channel).catch(() => {});
      }
    };
  }
}

const subscribers = new WeakMap<Redis, ReleaseSubscriber>();

export function subscriberFor(redis: Redis): ReleaseSubscriber {
  let subscriber = subscribers.get(redis);
  if (subscriber === undefined) {
    subscriber = new ReleaseSubscriber(redis);
    subscribers.set(redis, subscriber);
  }
  return subscriber;
}
