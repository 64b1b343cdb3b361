import { Option } from 'commander';
import type { Command } from 'commander';
import type { Client, KeyValue, WatchEvent } from '../../index.js';
import { addClientFlags, clientFromFlags, nonNegativeInteger } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_OK, action } from '../context.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../flags.js';
import { etcdJson, formatTable, headerJson, hex, kvJson } from '../output.js';
import { InterruptedError, stopSignal } from '../stop-signal.js';
import { failure } from './failure.js';
import { runTxn } from './txn.js';

interface GetFlags extends ClientFlags {
  readonly prefix?: boolean;
  readonly fromKey?: boolean;
  readonly limit?: number;
  readonly rev?: number;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
}

/** Runs a client command body with a client from the shared flags; errors become exit codes. */
export async function withClient(context: CliContext, name: string, flags: ClientFlags, body: (client: Client, signal: AbortSignal) => Promise<number>): Promise<number> {
  const stop = stopSignal(context.io);
  let client: Client | undefined;
  try {
    client = clientFromFlags(flags);
    return await body(client, stop.signal);
  } catch (error) {
    if (error instanceof InterruptedError) return EXIT_OK;
    return failure(context.io, name, error);
  } finally {
    stop.dispose();
    await client?.close().catch(() => {});
  }
}

export function register(program: Command, context: CliContext): void {
  const { io } = context;
  addClientFlags(program.command('get').description('read a key, a range [key, range-end), or every key with a prefix')
    .argument('<key>').argument('[range-end]')
    .option('--prefix', 'every key starting with <key>')
    .option('--from-key', 'every key >= <key>')
    .addOption(new Option('--limit <n>', 'at most this many keys').argParser(nonNegativeInteger('--limit')))
    .addOption(new Option('--rev <revision>', 'read at this revision').argParser(nonNegativeInteger('--rev')))
    .option('--keys-only', 'keys without values')
    .option('--count-only', 'only the number of keys'))
    .action(action(context, (key: string, rangeEnd: string | undefined, flags: GetFlags) => withClient(context, 'get', flags, async (client, signal) => {
      let builder = client.get(key);
      if (flags.prefix === true) builder = builder.prefix();
      else if (flags.fromKey === true) builder = builder.fromKey();
      else if (rangeEnd !== undefined) builder = builder.to(rangeEnd);
      if (flags.limit !== undefined) builder = builder.limit(flags.limit);
      if (flags.rev !== undefined) builder = builder.revision(BigInt(flags.rev));
      if (flags.keysOnly === true) builder = builder.keysOnly();
      if (flags.countOnly === true) builder = builder.countOnly();
      const result = await builder.signal(signal);
      if (flags.writeOut === 'json') {
        io.out(`${etcdJson({ header: headerJson(result.header), ...(result.kvs.length ? { kvs: result.kvs.map(kvJson) } : {}), ...(result.more ? { more: true } : {}), ...(result.count ? { count: result.count } : {}) })}\n`);
      } else if (flags.countOnly === true) {
        io.out(`${result.count}\n`);
      } else if (flags.writeOut === 'simple') {
        for (const kv of result.kvs) io.out(flags.keysOnly === true ? `${kv.key}\n\n` : `${kv.key}\n${kv.value}\n`);
      } else if (result.kvs.length > 0) {
        io.out(formatTable(['key', 'value', 'create rev', 'mod rev', 'version', 'lease'], result.kvs.map((kv) => [kv.key, kv.value, String(kv.createRevision), String(kv.modRevision), String(kv.version), kv.lease === 0n ? '' : hex(kv.lease)])));
      }
      return EXIT_OK;
    })));

  addClientFlags(program.command('put').description('write a key')
    .argument('<key>').argument('<value>')
    .addOption(new Option('--lease <hex id>', 'attach the key to this lease (hex, as `lease grant` prints it)')))
    .action(action(context, (key: string, value: string, flags: ClientFlags & { lease?: string }) => withClient(context, 'put', flags, async (client, signal) => {
      let builder = client.put(key, value);
      if (flags.lease !== undefined) builder = builder.lease(parseHexId('--lease', flags.lease));
      const result = await builder.signal(signal);
      io.out(flags.writeOut === 'json' ? `${etcdJson({ header: headerJson(result.header) })}\n` : 'OK\n');
      return EXIT_OK;
    })));

  addClientFlags(program.command('del').description('delete a key, a range, or every key with a prefix; prints how many were deleted')
    .argument('<key>').argument('[range-end]')
    .option('--prefix', 'every key starting with <key>')
    .option('--from-key', 'every key >= <key>'))
    .action(action(context, (key: string, rangeEnd: string | undefined, flags: GetFlags) => withClient(context, 'del', flags, async (client, signal) => {
      let builder = client.delete(key);
      if (flags.prefix === true) builder = builder.prefix();
      else if (flags.fromKey === true) builder = builder.fromKey();
      else if (rangeEnd !== undefined) builder = builder.to(rangeEnd);
      const result = await builder.signal(signal);
      io.out(flags.writeOut === 'json' ? `${etcdJson({ header: headerJson(result.header), ...(result.deleted ? { deleted: result.deleted } : {}) })}\n` : `${result.deleted}\n`);
      return EXIT_OK;
    })));

  addClientFlags(program.command('watch').description('print changes of a key (or prefix) until Ctrl-C')
    .argument('<key>')
    .option('--prefix', 'every key starting with <key>')
    .addOption(new Option('--rev <revision>', 'start from this revision (history included)').argParser(nonNegativeInteger('--rev')))
    .option('--prev-kv', 'also print the previous value'))
    .action(action(context, (key: string, flags: GetFlags & { prevKv?: boolean }) => withClient(context, 'watch', flags, async (client, signal) => {
      const watcher = client.watch(key, { prefix: flags.prefix === true, signal, prevKv: flags.prevKv === true, ...(flags.rev === undefined ? {} : { startRevision: BigInt(flags.rev) }) });
      try {
        for (;;) {
          const batch = await watcher.nextBatch();
          if (batch === undefined) return EXIT_OK;
          io.out(flags.writeOut === 'json' ? `${watchJson(batch)}\n` : batch.map((e) => watchSimple(e, flags.prevKv === true)).join(''));
        }
      } catch (error) {
        if (signal.aborted) return EXIT_OK;
        throw error;
      } finally {
        watcher.close();
      }
    })));

  addClientFlags(program.command('txn').description('a transaction read from stdin in etcdctl\'s format: compares, a blank line, success ops, a blank line, failure ops')
    .addHelpText('after', `
Compares: mod("k") > "5", create("k") = "0", version("k") != "2", value("k") = "v", lease("k") = "<hex>".
Ops: put <key> <value>, get <key> [range-end], del <key> [range-end]; quote words with spaces ("a b").
Example: printf 'value("mode") = "a"\\n\\nput mode b\\n\\nget mode\\n' | conclave txn`))
    .action(action(context, (flags: ClientFlags) => withClient(context, 'txn', flags, (client, signal) => runTxn(io, client, flags.writeOut, signal))));
}

export function parseHexId(flag: string, text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new UsageError(`${flag} must be a lease id in hex (up to 16 digits), got ${JSON.stringify(text)}`);
  return BigInt(`0x${text}`);
}

function watchSimple(event: WatchEvent, prevKv: boolean): string {
  const previous = prevKv && event.prevKv !== undefined ? `${event.prevKv.key}\n${event.prevKv.value}\n` : '';
  return event.type === 'put' ? `PUT\n${previous}${event.kv.key}\n${event.kv.value}\n` : `DELETE\n${previous}${event.kv.key}\n\n`;
}

/** One etcdctl-style WatchResponse per batch (the SDK does not surface the response header, so only its revision is given). */
function watchJson(batch: readonly WatchEvent[]): string {
  const revision = batch[batch.length - 1]!.revision;
  const events = batch.map((e) => ({ ...(e.type === 'delete' ? { type: 1 } : {}), kv: kvJson(e.kv as KeyValue), ...(e.prevKv === undefined ? {} : { prev_kv: kvJson(e.prevKv) }) }));
  return etcdJson({ Header: { revision }, Events: events, CompactRevision: 0, Canceled: false, Created: false });
}
