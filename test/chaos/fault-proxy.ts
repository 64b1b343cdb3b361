/**
 * TCP fault proxies for the members' peer links, owned by the test (no root, no iptables).
 * Each member advertises its proxy's address as its peer URL; the proxy forwards to the
 * member's real peer listener. A proxy tells which member dialed it from the connecting
 * socket's port: /proc/net/tcp maps the port to a socket inode and /proc/<pid>/fd maps the
 * inode to the member process (same user, so readable). So faults apply per directed link
 * "connections that member A opened to member B": cut (existing connections reset, new ones
 * refused), delay (every chunk held back), reset (existing connections broken once, like a
 * lost packet burst). For Conclave, A's connection to B carries A's raft messages to B (and
 * B's acks), so cutting A->B alone is a one-way partition; etcd's rafthttp also reads B's
 * stream over connections A opened, so there a cut link stops both directions.
 * Binds 127.0.0.1 only.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { Socket, createServer } from 'node:net';
import type { Server } from 'node:net';

export type LinkMode = { readonly kind: 'ok' } | { readonly kind: 'cut' } | { readonly kind: 'delay'; readonly ms: number };

/** Finds which of the given processes owns the local TCP port `port` (127.0.0.1, IPv4). */
export async function ownerOfLocalPort(port: number, pids: ReadonlyMap<number, string>): Promise<string | undefined> {
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  const wanted = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let inode: string | undefined;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(wanted) === true) {
      inode = fields[9];
      break;
    }
  }
  if (inode === undefined || inode === '0') return undefined;
  const target = `socket:[${inode}]`;
  for (const [pid, name] of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === target) return name;
    }
  }
  return undefined;
}

interface Pair {
  readonly from: string | undefined;
  readonly client: Socket;
  readonly upstream: Socket;
}

export class FaultProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private readonly modes = new Map<string, LinkMode>();
  /** Connections accepted, by dialing member ('?' when unidentified). */
  readonly accepted = new Map<string, number>();
  port = 0;

  constructor(
    /** The member behind this proxy. */
    readonly to: string,
    private readonly targetPort: () => number,
    private readonly pids: () => ReadonlyMap<number, string>,
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => void this.accept(socket));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = port;
  }

  /** Sets the mode of the link from member `from` to this proxy's member. */
  setMode(from: string, mode: LinkMode): void {
    this.modes.set(from, mode);
    if (mode.kind === 'cut') this.reset(from);
  }

  /** Breaks every open connection from `from` (all members when undefined). */
  reset(from?: string): void {
    for (const pair of this.pairs) if (from === undefined || pair.from === from) this.destroy(pair);
  }

  healAll(): void {
    this.modes.clear();
  }

  private modeOf(from: string | undefined): LinkMode {
    return (from === undefined ? undefined : this.modes.get(from)) ?? { kind: 'ok' };
  }

  private async accept(client: Socket): Promise<void> {
    client.on('error', () => undefined);
    const from = await ownerOfLocalPort(client.remotePort ?? 0, this.pids());
    this.accepted.set(from ?? '?', (this.accepted.get(from ?? '?') ?? 0) + 1);
    if (this.modeOf(from).kind === 'cut' || client.destroyed) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => undefined);
    const pair: Pair = { from, client, upstream };
    this.pairs.add(pair);
    upstream.connect(this.targetPort(), '127.0.0.1');
    const forward = (source: Socket, sink: Socket): void => {
      let chain = Promise.resolve();
      source.on('data', (chunk: Buffer) => {
        const mode = this.modeOf(from);
        if (mode.kind === 'cut') {
          this.destroy(pair);
          return;
        }
        if (mode.kind === 'delay') {
          // Order is kept: each chunk waits for the one before it.
          chain = chain.then(() => new Promise<void>((resolve) => setTimeout(resolve, mode.ms))).then(() => {
            if (!sink.destroyed) sink.write(chunk);
          });
        } else {
          chain = chain.then(() => {
            if (!sink.destroyed) sink.write(chunk);
          });
        }
      });
      source.on('close', () => this.destroy(pair));
    };
    forward(client, upstream);
    forward(upstream, client);
    client.resume();
  }

  private destroy(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.destroy(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
