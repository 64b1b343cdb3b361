/**
 * etcdctl 3.4 key-value, txn, watch, lease and compaction commands against the Conclave
 * cluster. Requests go to different members on purpose (a put through one, the get through
 * another), so followers forwarding to the leader are exercised. Every command's exit status
 * and output are asserted; revisions are taken from etcdctl's own `-w json` headers.
 */
import { afterAll, expect, it } from 'vitest';
import { EtcdctlProcess } from '../../support/etcdctl.js';
import { waitFor } from '../../support/wait.js';
import type { InteropContext } from './context.js';
import { parseJsonKeepingIds } from './context.js';
import { fails, lines, ok, runEtcdctl } from './run-etcdctl.js';

interface Header { revision: number; member_id: string }

export function etcdctlKvChecks(context: () => InteropContext): void {
  const processes: EtcdctlProcess[] = [];
  /** The endpoint of member `i` alone. */
  const at = (i: number): string[] => [context().cluster.nodes[i]!.endpoint];
  const passed = (...commands: string[]): void => {
    context().summary.etcdctl.push(...commands);
  };
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const putRevision = async (i: number, key: string, value: string): Promise<number> =>
    (parseJsonKeepingIds(await ok(at(i), '-w', 'json', 'put', key, value)) as { header: Header }).header.revision;

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
  });

  it('etcdctl put and get: prefix, limit, sort, rev, keys-only, json output', async () => {
    expect(await ok(at(0), 'put', 'ctl/a', '1')).toBe('OK\n');
    const revA = (parseJsonKeepingIds(await ok(at(1), '-w', 'json', 'get', 'ctl/a')) as { header: Header }).header.revision;
    await putRevision(1, 'ctl/b', '2');
    await putRevision(2, 'ctl/c', '3');
    const last = await putRevision(0, 'ctl/a', '10');
    expect(lines(await ok(at(1), 'get', 'ctl/', '--prefix'))).toEqual(['ctl/a', '10', 'ctl/b', '2', 'ctl/c', '3']);
    expect(lines(await ok(at(2), 'get', 'ctl/', '--prefix', '--limit=2'))).toEqual(['ctl/a', '10', 'ctl/b', '2']);
    expect(lines(await ok(at(0), 'get', 'ctl/', '--prefix', '--sort-by=KEY', '--order=DESCEND', '--keys-only'))).toEqual(['ctl/c', 'ctl/b', 'ctl/a']);
    expect(lines(await ok(at(1), 'get', 'ctl/', '--prefix', '--sort-by=VALUE', '--order=ASCEND', '--print-value-only'))).toEqual(['10', '2', '3']);
    expect(lines(await ok(at(2), 'get', 'ctl/a', `--rev=${revA}`))).toEqual(['ctl/a', '1']);
    const out = parseJsonKeepingIds(await ok(at(2), '-w', 'json', 'get', 'ctl/a')) as { header: Header; kvs: Array<Record<string, unknown>>; count: number };
    expect(out.header.revision).toBe(last);
    const members = lines(await ok(at(0), 'member', 'list')).map((line) => line.split(', ')[0]);
    expect(members.map((id) => BigInt(`0x${id}`).toString())).toContain(out.header.member_id);
    expect(out.kvs[0]).toMatchObject({ key: b64('ctl/a'), value: b64('10'), version: 2, mod_revision: last, create_revision: revA });
    expect(out.count).toBe(1);
    passed('put', 'get --prefix', 'get --limit', 'get --sort-by --order', 'get --rev', 'get --keys-only', 'get -w json');
  });

  it('etcdctl del: single, missing, prefix with prev-kv', async () => {
    await ok(at(0), 'put', 'del/x', 'x');
    await ok(at(1), 'put', 'del/y', 'y');
    expect(await ok(at(1), 'del', 'del/x')).toBe('1\n');
    expect(await ok(at(2), 'del', 'del/x')).toBe('0\n');
    await ok(at(0), 'put', 'del/z', 'z');
    expect(lines(await ok(at(2), 'del', 'del/', '--prefix', '--prev-kv'))).toEqual(['2', 'del/y', 'y', 'del/z', 'z']);
    expect(await ok(at(0), 'get', 'del/', '--prefix')).toBe('');
    passed('del', 'del --prefix --prev-kv');
  });

  it('etcdctl txn: success and failure branches', async () => {
    await ok(at(0), 'put', 'txn/k', 'v1');
    const hit = await runEtcdctl(at(1), ['txn'], 'value("txn/k") = "v1"\n\nput txn/k v2\n\nput txn/k other\n\n');
    expect(hit.code).toBe(0);
    expect(lines(hit.stdout)).toEqual(['SUCCESS', 'OK']);
    const miss = await runEtcdctl(at(2), ['txn'], 'value("txn/k") = "v1"\n\nput txn/k v3\n\nget txn/k\n\n');
    expect(miss.code).toBe(0);
    expect(lines(miss.stdout)).toEqual(['FAILURE', 'txn/k', 'v2']);
    expect(await ok(at(0), 'get', 'txn/k', '--print-value-only')).toBe('v2\n');
    passed('txn');
  });

  it('etcdctl watch: prefix, rev and prev-kv, writes through other members', async () => {
    const fromRev = await putRevision(0, 'watch/a', 'before');
    const watcher = new EtcdctlProcess(at(1), ['watch', 'watch/', '--prefix', `--rev=${fromRev}`, '--prev-kv']);
    processes.push(watcher);
    await waitFor(() => expect(watcher.lines()).toEqual(['PUT', 'watch/a', 'before']));
    await ok(at(2), 'put', 'watch/a', 'after');
    expect(await ok(at(0), 'del', 'watch/a')).toBe('1\n');
    await waitFor(() => expect(watcher.lines()).toEqual([
      'PUT', 'watch/a', 'before',
      'PUT', 'watch/a', 'before', 'watch/a', 'after',
      'DELETE', 'watch/a', 'after', 'watch/a',
    ]));
    expect(watcher.running).toBe(true);
    await watcher.kill();
    passed('watch --prefix --rev --prev-kv');
  });

  it('etcdctl lease: grant, timetolive --keys, list, keep-alive --once, revoke (on different members)', async () => {
    const granted = await ok(at(1), 'lease', 'grant', '60');
    const id = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/.exec(granted.trim())?.[1];
    expect(id).toBeDefined();
    expect(await ok(at(2), 'put', 'leased', 'v', `--lease=${id}`)).toBe('OK\n');
    // The remaining TTL is a timing: only its form is checked.
    expect((await ok(at(0), 'lease', 'timetolive', id!, '--keys')).trim()).toMatch(new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((\\d+)s\\), attached keys\\(\\[leased\\]\\)$`));
    expect(lines(await ok(at(2), 'lease', 'list'))).toContain(id);
    expect((await ok(at(1), 'lease', 'keep-alive', '--once', id!)).trim()).toBe(`lease ${id} keepalived with TTL(60)`);
    expect((await ok(at(0), 'lease', 'revoke', id!)).trim()).toBe(`lease ${id} revoked`);
    expect(await ok(at(1), 'get', 'leased')).toBe('');
    expect((await ok(at(2), 'lease', 'timetolive', id!)).trim()).toBe(`lease ${id} already expired`);
    expect(await fails(at(1), 'lease', 'revoke', id!)).toMatch(/requested lease not found/);
    expect(lines(await ok(at(0), 'lease', 'list'))).not.toContain(id);
    passed('lease grant', 'lease timetolive --keys', 'lease list', 'lease keep-alive --once', 'lease revoke');
  });

  it('etcdctl lease keep-alive keeps renewing on one stream through a follower', async () => {
    const id = /^lease ([0-9a-f]+) granted/.exec((await ok(at(0), 'lease', 'grant', '3')).trim())![1]!;
    const keeper = new EtcdctlProcess(at(2), ['lease', 'keep-alive', id]);
    processes.push(keeper);
    await waitFor(() => expect(keeper.lines().filter((line) => line === `lease ${id} keepalived with TTL(3)`).length).toBeGreaterThanOrEqual(3), { timeout: 30_000 });
    expect(keeper.running).toBe(true);
    await keeper.kill();
    expect((await ok(at(1), 'lease', 'revoke', id)).trim()).toBe(`lease ${id} revoked`);
    passed('lease keep-alive');
  });

  it('etcdctl compaction: older revisions are gone, newer ones readable', async () => {
    const first = await putRevision(0, 'cmp/k', 'v1');
    const second = await putRevision(1, 'cmp/k', 'v2');
    expect((await ok(at(2), 'compaction', String(second))).trim()).toBe(`compacted revision ${second}`);
    expect(await fails(at(0), 'get', 'cmp/k', `--rev=${first}`)).toMatch(/required revision has been compacted/);
    expect(lines(await ok(at(1), 'get', 'cmp/k', `--rev=${second}`))).toEqual(['cmp/k', 'v2']);
    expect(await fails(at(2), 'compaction', String(second))).toMatch(/required revision has been compacted/);
    passed('compaction');
  });
}
