import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConclaveError } from '../../base/errors.js';
import { backupInfo, restoreDataDir } from '../../server/backup.js';
import { UsageError, formatFlagHelp, parseFlags } from '../flags.js';
import type { FlagSpec } from '../flags.js';
import type { CommandIo } from '../server-command.js';
import type { CliContext } from '../context.js';
import { saveSnapshot } from './save.js';

export const SNAPSHOT_HELP = `Usage: conclave snapshot <save|status|restore> [flags]

  save FILE --endpoints host:port     stream one member's snapshot into FILE (checked)
  status FILE [-w table|json]          hash, revision, total keys and size of a snapshot file
  restore FILE --name N --data-dir D --initial-cluster ... --initial-advertise-peer-urls ...
                                       build a new member's data dir from FILE (once per member)

Files written by 'etcdctl snapshot save' from a Conclave member are read the same way.

Flags:
${formatFlagHelp(flagSpecs())}
`;

function flagSpecs(): FlagSpec[] {
  return [
    { name: 'endpoints', kind: 'value', valueName: 'host:port', description: 'save: the one member to save from' },
    { name: 'write-out', kind: 'value', valueName: 'table|json', description: 'status: output format', defaultText: 'table' },
    { name: 'w', kind: 'value', valueName: 'table|json', description: 'status: short for --write-out' },
    { name: 'name', kind: 'value', description: 'restore: this member\'s name in --initial-cluster', defaultText: 'default' },
    { name: 'data-dir', kind: 'value', valueName: 'path', description: 'restore: the new data directory (must not exist or be empty)', defaultText: '${name}.etcd' },
    { name: 'initial-cluster', kind: 'value', valueName: 'name=url,...', description: 'restore: the new cluster\'s members', defaultText: 'this member alone' },
    { name: 'initial-advertise-peer-urls', kind: 'value', valueName: 'urls', description: 'restore: this member\'s peer URLs', defaultText: 'http://127.0.0.1:2380' },
    { name: 'initial-cluster-token', kind: 'value', description: 'restore: the new cluster\'s token', defaultText: 'etcd-cluster' },
    { name: 'help', kind: 'boolean', description: 'print this help' },
  ];
}

/** Registers `conclave snapshot`; its subcommands and flags are parsed by runSnapshot. */
export function register(program: Command, context: CliContext): void {
  program
    .command('snapshot')
    .description("save, inspect and restore backups; 'conclave snapshot --help'")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      context.exitCode = await runSnapshot(command.args, context.io);
    });
}

/** `conclave snapshot ...`; resolves with the exit code (0 done, 1 failed, 2 bad command line). */
export async function runSnapshot(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  let parsed;
  try {
    parsed = parseFlags(rest, flagSpecs());
  } catch (error) {
    if (error instanceof UsageError) return usage(io, error.message);
    throw error;
  }
  if (sub === undefined || sub === 'help' || parsed.values.get('help') === true) {
    io.out(SNAPSHOT_HELP);
    return sub === undefined ? 2 : 0;
  }
  const text = (name: string): string | undefined => {
    const value = parsed.values.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const file = parsed.positionals[0];
  if (file === undefined || parsed.positionals.length > 1) return usage(io, `snapshot ${sub} takes exactly one FILE`);
  try {
    switch (sub) {
      case 'save': {
        const endpoints = (text('endpoints') ?? '').split(',').filter((e) => e !== '');
        if (endpoints.length !== 1) return usage(io, 'snapshot save needs exactly one --endpoints member');
        const bytes = await saveSnapshot(endpoints[0]!, file, AbortSignal.timeout(30 * 60_000));
        io.out(`Snapshot saved at ${file} (${bytes} bytes)\n`);
        return 0;
      }
      case 'status': {
        const format = text('write-out') ?? text('w') ?? 'table';
        if (format !== 'table' && format !== 'json') return usage(io, `--write-out must be table or json, got ${JSON.stringify(format)}`);
        const info = backupInfo(readFileSync(file));
        if (format === 'json') io.out(`${JSON.stringify({ hash: info.hash, revision: info.revision, totalKey: info.totalKeys, totalSize: info.totalSizeBytes })}\n`);
        else io.out(statusTable(info.hash, info.revision, info.totalKeys, info.totalSizeBytes));
        return 0;
      }
      case 'restore': {
        const name = text('name') ?? 'default';
        const peerUrls = text('initial-advertise-peer-urls')?.split(',').map((u) => u.trim()).filter((u) => u !== '');
        const initialCluster = text('initial-cluster');
        const token = text('initial-cluster-token');
        const dataDir = text('data-dir') ?? `${name}.etcd`;
        const { memberId, clusterId } = await restoreDataDir(readFileSync(file), {
          name, dataDir,
          ...(initialCluster === undefined ? {} : { initialCluster }),
          ...(peerUrls === undefined ? {} : { initialAdvertisePeerUrls: peerUrls }),
          ...(token === undefined ? {} : { initialClusterToken: token }),
        });
        io.out(`restored snapshot ${file} into ${dataDir}: member ${memberId.toString(16)} of cluster ${clusterId.toString(16)}\n`);
        return 0;
      }
      default:
        return usage(io, `unknown snapshot command ${JSON.stringify(sub)}`);
    }
  } catch (error) {
    const message = ConclaveError.is(error) ? `${error.code}: ${error.message}` : (error as Error).message;
    io.err(`conclave snapshot ${sub}: ${message}\n`);
    return 1;
  }
}

function usage(io: CommandIo, message: string): number {
  io.err(`conclave snapshot: ${message}\nRun 'conclave snapshot --help' for the commands.\n`);
  return 2;
}

/** etcdctl's snapshot status table. */
function statusTable(hash: number, revision: number, keys: number, size: number): string {
  const cells = [hash.toString(16).padStart(8, '0'), String(revision), String(keys), formatBytes(size)];
  const heads = ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'];
  const widths = heads.map((h, i) => Math.max(h.length, cells[i]!.length));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const row = (values: string[]): string => `|${values.map((v, i) => ` ${v.padStart(widths[i]!)} `).join('|')}|\n`;
  return line + row(heads) + line + row(cells) + line;
}

function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(0)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
