/**
 * `conclave txn`: etcdctl's non-interactive txn format on stdin. Three blocks separated by
 * blank lines: compares (`mod("k") > "5"`), ops run when all hold, ops run otherwise.
 */
import { compare } from '../../index.js';
import type { Client, CompareOperator, CompareSpec, OpLike, OpResult } from '../../index.js';
import { EXIT_OK } from '../context.js';
import { UsageError } from '../flags.js';
import { etcdJson, formatTable, headerJson, kvJson } from '../output.js';
import type { CommandIo } from '../server-command.js';

/** Largest txn read from stdin. */
const MAX_TXN_INPUT_BYTES = 1024 * 1024;

export async function runTxn(io: CommandIo, client: Client, writeOut: string, signal: AbortSignal, input: Promise<string> = readStdin()): Promise<number> {
  const text = await input;
  const blocks = text.replace(/\r/g, '').split('\n');
  const sections: string[][] = [[]];
  for (const line of blocks) {
    if (line.trim() === '') {
      if (sections.length < 3) sections.push([]);
      continue;
    }
    sections[sections.length - 1]!.push(line.trim());
  }
  const [compares = [], success = [], failure = []] = sections;
  let txn = client.txn();
  if (compares.length > 0) txn = txn.if(...compares.map(parseCompare));
  if (success.length > 0) txn = txn.do(...success.map((line) => parseOp(client, line)));
  if (failure.length > 0) txn = txn.else(...failure.map((line) => parseOp(client, line)));
  const result = await txn.signal(signal);
  if (writeOut === 'json') {
    io.out(`${etcdJson({ header: headerJson(result.header), ...(result.succeeded ? { succeeded: true } : {}), responses: result.results.map(responseJson) })}\n`);
    return EXIT_OK;
  }
  io.out(`${result.succeeded ? 'SUCCESS' : 'FAILURE'}\n`);
  for (const op of result.results) {
    io.out('\n');
    if (op.type === 'put') io.out('OK\n');
    else if (op.type === 'delete') io.out(`${op.result.deleted}\n`);
    else if (op.type === 'range') {
      io.out(writeOut === 'table'
        ? formatTable(['key', 'value'], op.result.kvs.map((kv) => [kv.key, kv.value]))
        : op.result.kvs.map((kv) => `${kv.key}\n${kv.value}\n`).join(''));
    }
  }
  return EXIT_OK;
}

function responseJson(op: OpResult): Record<string, unknown> {
  if (op.type === 'put') return { Response: { ResponsePut: { header: headerJson(op.result.header) } } };
  if (op.type === 'delete') return { Response: { ResponseDeleteRange: { header: headerJson(op.result.header), ...(op.result.deleted ? { deleted: op.result.deleted } : {}) } } };
  if (op.type === 'range') return { Response: { ResponseRange: { header: headerJson(op.result.header), ...(op.result.kvs.length ? { kvs: op.result.kvs.map(kvJson) } : {}), ...(op.result.count ? { count: op.result.count } : {}) } } };
  return { Response: { ResponseTxn: { header: headerJson(op.result.header) } } };
}

const comparePattern = /^(mod|create|version|value|lease|m|c|ver|val)\("((?:[^"\\]|\\.)*)"\)\s*(=|==|!=|<|>)\s*"((?:[^"\\]|\\.)*)"$/;

export function parseCompare(line: string): CompareSpec {
  const match = comparePattern.exec(line);
  if (match === null) throw new UsageError(`txn: cannot read the compare ${JSON.stringify(line)} (expected e.g. mod("key") > "5")`);
  const [, target, rawKey, rawOperator, rawOperand] = match;
  const key = unescape(rawKey!);
  const operand = unescape(rawOperand!);
  const operator = (rawOperator === '=' ? '==' : rawOperator) as CompareOperator;
  const number = (): bigint => {
    if (!/^\d+$/.test(operand)) throw new UsageError(`txn: ${target}(...) compares with a number, got ${JSON.stringify(operand)}`);
    return BigInt(operand);
  };
  switch (target) {
    case 'mod': case 'm': return compare.modRevision(key, operator, number());
    case 'create': case 'c': return compare.createRevision(key, operator, number());
    case 'version': case 'ver': return compare.version(key, operator, number());
    case 'lease': {
      if (!/^[0-9a-fA-F]{1,16}$/.test(operand)) throw new UsageError(`txn: lease(...) compares with a hex lease id, got ${JSON.stringify(operand)}`);
      return compare.lease(key, operator, BigInt(`0x${operand}`));
    }
    default: return compare.value(key, operator, operand);
  }
}

export function parseOp(client: Client, line: string): OpLike {
  const [verb, ...args] = words(line);
  if (verb === 'put' && args.length === 2) return client.put(args[0]!, args[1]!);
  if (verb === 'get' && (args.length === 1 || args.length === 2)) return args.length === 2 ? client.get(args[0]!).to(args[1]!) : client.get(args[0]!);
  if ((verb === 'del' || verb === 'delete') && (args.length === 1 || args.length === 2)) return args.length === 2 ? client.delete(args[0]!).to(args[1]!) : client.delete(args[0]!);
  throw new UsageError(`txn: cannot read the op ${JSON.stringify(line)} (expected put <key> <value>, get <key> [end] or del <key> [end])`);
}

/** Splits on spaces, keeping "quoted words" (with \" escapes) together. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(match[1] === undefined ? match[2]! : unescape(match[1]));
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > MAX_TXN_INPUT_BYTES) throw new UsageError(`txn: stdin is larger than ${MAX_TXN_INPUT_BYTES} bytes`);
  }
  return text;
}
