/**
 * A Conclave cluster of separate `conclave server` processes on free loopback ports, each with
 * its own temporary data directory. Members can be killed (kill -9), restarted on the same
 * data, and added at runtime. `stop()` kills every process and removes the data: call it in
 * afterAll. Readiness is a state (a leader known, a serializable read served), polled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { etcdctl } from '../../support/etcdctl.js';
import { ConclaveProcess } from './conclave-process.js';

export interface ClusterOptions {
  readonly members?: number;
  readonly engine: 'memory' | 'lmdb';
  readonly snapshotCount?: number;
  readonly heartbeatIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  /** Off by default here: these suites promote learners by hand, as etcd operators do. */
  readonly autoPromoteLearners?: boolean;
}

export interface NodeSpec {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** host:port, as etcdctl and etcd3 take it. */
  readonly endpoint: string;
  readonly dataDir: string;
}

let sequence = 0;

export class ConclaveNode {
  process: ConclaveProcess | undefined;
  /** Output of earlier runs of this member (before restarts), for failure messages. */
  private previousLogs = '';

  constructor(readonly spec: NodeSpec, private readonly baseArgs: readonly string[]) {}

  get name(): string {
    return this.spec.name;
  }

  get endpoint(): string {
    return this.spec.endpoint;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  get log(): string {
    return this.previousLogs + (this.process?.log ?? '');
  }

  private firstStart: { state: 'new' | 'existing'; initialCluster: string } | undefined;

  /** Starts the member's process for the first time. */
  start(initialClusterState: 'new' | 'existing', initialCluster: string): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.firstStart = { state: initialClusterState, initialCluster };
    this.spawn();
  }

  /** Starts it again on the same data dir, after a kill (the initial-cluster flags are ignored then). */
  restart(): void {
    if (this.running || this.firstStart === undefined) throw new Error(`${this.name} is running or was never started`);
    this.previousLogs += `${this.process!.log}--- restart\n`;
    this.spawn();
  }

  private spawn(): void {
    const { state: initialClusterState, initialCluster } = this.firstStart!;
    this.process = new ConclaveProcess([
      'server',
      '--name', this.name,
      '--data-dir', this.spec.dataDir,
      '--listen-client-urls', this.spec.clientUrl,
      '--advertise-client-urls', this.spec.clientUrl,
      '--listen-peer-urls', this.spec.peerUrl,
      '--initial-advertise-peer-urls', this.spec.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', initialClusterState,
      ...this.baseArgs,
    ]);
  }

  /** kill -9. */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  /** A client for this member alone. */
  client(): Etcd3 {
    return new Etcd3({ hosts: [this.endpoint], dialTimeout: 3_000 });
  }
}

export class ConclaveCluster {
  readonly nodes: ConclaveNode[] = [];
  private readonly dataDirs: string[] = [];
  private readonly clients: Etcd3[] = [];
  private readonly token = `conclave-it-${process.pid}-${sequence++}`;
  private readonly baseArgs: string[];

  private constructor(readonly options: ClusterOptions) {
    this.baseArgs = [
      '--initial-cluster-token', this.token,
      '--engine', options.engine,
      '--heartbeat-interval', String(options.heartbeatIntervalMs ?? 100),
      '--election-timeout', String(options.electionTimeoutMs ?? 1_000),
      '--snapshot-count', String(options.snapshotCount ?? 10_000),
      '--log-level', 'debug',
      `--auto-promote-learners=${options.autoPromoteLearners ?? false}`,
    ];
  }

  /** Starts `members` processes as a new cluster and waits until every one serves reads. */
  static async start(options: ClusterOptions): Promise<ConclaveCluster> {
    const cluster = new ConclaveCluster(options);
    try {
      for (let i = 0; i < (options.members ?? 3); i++) await cluster.newNode();
      const initialCluster = cluster.initialCluster();
      for (const node of cluster.nodes) node.start('new', initialCluster);
      for (const node of cluster.nodes) await cluster.waitServing(node);
      return cluster;
    } catch (error) {
      const logs = cluster.logs();
      await cluster.stop();
      throw new Error(`the cluster did not start: ${String(error)}\n${logs}`);
    }
  }

  /** Allocates ports and a data dir for one more member (not started). */
  private async newNode(): Promise<ConclaveNode> {
    const [clientPort, peerPort] = await freePorts(2);
    const dataDir = mkdtempSync(join(tmpdir(), 'conclave-it-'));
    this.dataDirs.push(dataDir);
    const name = `m${this.nodes.length}`;
    const node = new ConclaveNode({ name, dataDir, clientUrl: `http://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}`, endpoint: `127.0.0.1:${clientPort}` }, this.baseArgs);
    this.nodes.push(node);
    return node;
  }

  initialCluster(nodes: readonly ConclaveNode[] = this.nodes): string {
    return nodes.map((n) => `${n.name}=${n.spec.peerUrl}`).join(',');
  }

  endpoints(nodes: readonly ConclaveNode[] = this.nodes): string[] {
    return nodes.map((n) => n.endpoint);
  }

  /**
   * A client over every member (writes go to any of them). Every call has a deadline: a call
   * to a member that stopped answering (SIGSTOP, a dead peer) must fail, not hang the writer.
   */
  client(nodes: readonly ConclaveNode[] = this.nodes): Etcd3 {
    const client = new Etcd3({ hosts: this.endpoints(nodes), dialTimeout: 3_000, defaultCallOptions: () => ({ deadline: new Date(Date.now() + 15_000) }) });
    this.clients.push(client);
    return client;
  }

  /** Restarts a stopped member on its own data (WAL, snapshots, backend) with the flags it first had. */
  async restart(node: ConclaveNode): Promise<void> {
    node.restart();
    await this.waitServing(node);
  }

  /**
   * etcdctl member add --learner, then starts the new member with
   * --initial-cluster-state existing. Resolves with the new member and its id (hex).
   */
  async addLearner(): Promise<{ node: ConclaveNode; id: string }> {
    const voters = this.nodes.filter((n) => n.running);
    const node = await this.newNode();
    const output = await etcdctl(this.endpoints(voters), ['member', 'add', node.name, `--peer-urls=${node.spec.peerUrl}`, '--learner']);
    const id = /Member\s+([0-9a-f]+)\s+added/.exec(output)?.[1];
    if (id === undefined) throw new Error(`unexpected member add output: ${output}`);
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]*)"/.exec(output)?.[1];
    if (initialCluster === undefined) throw new Error(`member add printed no ETCD_INITIAL_CLUSTER: ${output}`);
    node.start('existing', initialCluster);
    await this.waitServing(node);
    return { node, id };
  }

  /** Waits until the member's process knows a leader and answers a serializable read. */
  async waitServing(node: ConclaveNode, timeoutMs = 60_000): Promise<void> {
    const client = node.client();
    try {
      await waitFor(async () => {
        if (!node.running) throw new Error(`${node.name} exited:\n${node.log.slice(-4000)}`);
        const status = await client.maintenance.status();
        if (status.leader === '0') throw new Error(`${node.name} knows no leader yet`);
        // With authentication on, the refusal of an anonymous read shows the member serves too.
        await client.get('conclave-it-readiness').serializable(true).string().catch((error: unknown) => {
          if (!/user name is empty/.test(String(error))) throw error;
        });
      }, { timeout: timeoutMs, interval: 100 });
    } finally {
      client.close();
    }
  }

  logs(): string {
    return this.nodes.map((n) => `--- ${n.name}\n${n.log.slice(-6000)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await Promise.all(this.nodes.map((n) => n.kill()));
    for (const dir of this.dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
