import type { Command } from 'commander';
import { ConclaveError, InvalidOptionError } from '../base/errors.js';
import { startMember } from '../server/index.js';
import type { MemberOptions, RunningMember } from '../server/index.js';
import { resolveMemberOptions } from '../server/member-options.js';
import { FATAL_EXIT_CODE } from '../storage/options.js';
import { FaultInjectingFileSystem, NodeFileSystem } from '../storage/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { UsageError, formatFlagHelp, parseFlags } from './flags.js';
import { REJECTED_SERVER_FLAGS, SERVER_FLAGS, flagForOption, readConfigFile, serverSettings, withFlagNames } from './server-flags.js';
import type { ServerSettings } from './server-flags.js';
import { StderrLogger } from './stderr-logger.js';
import { Client } from '../index.js';
import { startDashboard } from './dashboard/index.js';
import type { CliContext } from './context.js';

/** Exit codes: 0 stopped cleanly, 1 could not start, 2 bad command line, 70 fatal storage/member error. */
export const EXIT_OK = 0;
export const EXIT_START_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_FATAL = FATAL_EXIT_CODE;

/** What the command touches of its process (the real one in main.ts). */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Registers a handler for SIGTERM and SIGINT; returns a function that removes it. */
  onStopSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

export const SERVER_HELP = `Usage: conclave server [flags]

Runs one Conclave member: a Raft-replicated key-value store serving the etcd v3 gRPC API.
Flags have etcd's names and meanings. Without flags it runs a single-member cluster on
127.0.0.1:2379 (clients) and 127.0.0.1:2380 (peers) with its data in ./default.etcd.

Flags:
${formatFlagHelp(SERVER_FLAGS)}

TLS: https:// client URLs need --cert-file and --key-file (--client-cert-auth with
--trusted-ca-file requires client certificates); https:// peer URLs need the --peer- twins.
Not supported yet: --auto-tls, CRL files, environment variables (ETCD_*), YAML config files.
On SIGTERM or SIGINT a leader first hands leadership to another member, then the member stops.
Exit codes: 0 stopped, 1 could not start, 2 bad flags, 70 fatal storage error.
`;

/**
 * `conclave server` takes etcd's flags in Go's spellings (`-name x`, `--name=x`), which
 * commander's own option parser does not know: commander hands the raw arguments to
 * parseFlags, which runs a second commander parser configured for them.
 */
export function register(program: Command, context: CliContext): void {
  program
    .command('server')
    .description('run a Conclave member (etcd v3 API); \'conclave server --help\' lists its flags')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action(async (_flags: string[], _options: unknown, command: Command) => {
      context.exitCode = await runServer(command.args, context.io);
    });
}

/** Runs `conclave server`; resolves with the process exit code once the member has stopped. */
export async function runServer(argv: readonly string[], io: CommandIo, start: (options: MemberOptions) => Promise<RunningMember> = startMember): Promise<number> {
  let settings;
  try {
    const parsed = parseFlags(argv, SERVER_FLAGS, REJECTED_SERVER_FLAGS);
    if (parsed.values.get('help') === true) {
      io.out(SERVER_HELP);
      return EXIT_OK;
    }
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    const configFile = parsed.values.get('config-file');
    const raw = typeof configFile === 'string' ? readConfigFile(configFile) : new Map<string, string>();
    // Switches (--client-cert-auth) arrive as booleans; --help was handled above.
    for (const [name, value] of parsed.values) if (name !== 'config-file' && name !== 'help') raw.set(name, String(value));
    settings = serverSettings(raw);
    resolveMemberOptions(settings.options);
  } catch (error) {
    if (error instanceof UsageError) return usage(io, error.message);
    if (error instanceof InvalidOptionError) {
      const flag = flagForOption(error.option);
      return usage(io, flag === undefined ? error.message : `--${flag}: ${withFlagNames(error.message.slice(error.option.length + 2))}`);
    }
    throw error;
  }
  const logger = new StderrLogger(settings.logLevel, io.err);
  let running: RunningMember;
  try {
    const diskFaults = diskFaultFileSystem();
    running = await start({ ...settings.options, logger, ...(diskFaults === undefined ? {} : { fileSystem: diskFaults }) });
  } catch (error) {
    logger.error('could not start', { error });
    return isStorageFailure(error) ? EXIT_FATAL : EXIT_START_FAILED;
  }
  logger.info('serving the etcd v3 API', { clientUrls: running.clientUrls.join(','), peerUrls: running.peerUrls.join(','), dataDir: settings.options.dataDir });
  const dashboard = settings.dashboardUrl === undefined ? undefined : await serveOwnDashboard(running, settings, logger);
  try {
    return await waitForStop(running, logger, io);
  } finally {
    await dashboard?.close();
  }
}

/**
 * The dashboard against this member's own client URL, through the SDK like any other client
 * (so it shows what `conclave dashboard` would). Failing to start it is logged, not fatal: the
 * member serves its clients either way.
 */
async function serveOwnDashboard(running: RunningMember, settings: ServerSettings, logger: StderrLogger): Promise<{ close(): Promise<void> } | undefined> {
  const options = settings.options;
  const tls = options.certFile === undefined ? undefined : { ca: readFileSync(options.trustedCaFile ?? options.certFile), ...(options.clientCertAuth === true ? { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile!) } : {}) };
  const client = new Client({ endpoints: [running.clientUrls[0]!.replace(/^https?:\/\//, '')], ...(tls === undefined ? {} : { tls }) });
  try {
    const dashboard = await startDashboard({ client, listenUrl: settings.dashboardUrl!, ...(tls === undefined ? {} : { tls }) });
    logger.info('serving the dashboard', { url: `${dashboard.url}/` });
    return {
      async close() {
        await dashboard.close();
        await client.close().catch(() => {});
      },
    };
  } catch (error) {
    logger.error('could not start the dashboard', { error, url: settings.dashboardUrl });
    await client.close().catch(() => {});
    return undefined;
  }
}

/**
 * Test-only, undocumented on purpose: with CONCLAVE_TEST_DISK_FAULT_FILE set, every WAL and
 * snapshot write and sync fails while that file exists, with the error code it contains
 * (EIO when empty). The chaos suite (test/chaos) injects disk faults through it.
 */
function diskFaultFileSystem(): FaultInjectingFileSystem | undefined {
  const path = process.env.CONCLAVE_TEST_DISK_FAULT_FILE;
  if (path === undefined || path === '') return undefined;
  return new FaultInjectingFileSystem(new NodeFileSystem(), () => {
    if (!existsSync(path)) return undefined;
    try {
      return readFileSync(path, 'utf8').trim() || 'EIO';
    } catch {
      return undefined;
    }
  });
}

function usage(io: CommandIo, message: string): number {
  io.err(`conclave server: ${message}\nRun 'conclave server --help' for the flags.\n`);
  return EXIT_USAGE;
}

/** Startup failures that mean the data on disk is unusable, not a wrong setting or a busy port. */
function isStorageFailure(error: unknown): boolean {
  return ConclaveError.is(error) && ['ERR_WAL_CORRUPT', 'ERR_STORAGE_UNRECOVERABLE', 'ERR_STORAGE_FATAL_IO', 'ERR_SNAPSHOT_CORRUPT'].includes(error.code);
}

/**
 * Resolves with the exit code: 0 after a stop signal (leadership handed away first, then a
 * graceful close) or after the member removed itself from the cluster; 70 when the member
 * stopped on a fatal error. A second signal while stopping destroys the member at once.
 */
function waitForStop(running: RunningMember, logger: StderrLogger, io: CommandIo): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const finish = (code: number): void => {
      removeSignalHandler();
      resolve(code);
    };
    const removeSignalHandler = io.onStopSignal((signal) => {
      if (stopping) {
        logger.warn('second stop signal: stopping at once', { signal });
        void running.destroy().finally(() => finish(EXIT_START_FAILED));
        return;
      }
      stopping = true;
      const { member } = running;
      const wasLeader = member.isLeader() && member.members().some((m) => !m.isLearner && m.id !== member.memberId);
      logger.info(wasLeader ? 'stop signal received: handing leadership away, then stopping' : 'stop signal received: stopping', { signal });
      handOff(running, wasLeader, logger).then(() => running.close()).then(
        () => {
          logger.info('stopped');
          finish(running.member.fatalError === undefined ? EXIT_OK : EXIT_FATAL);
        },
        (error: unknown) => {
          logger.error('stopping failed', { error });
          finish(EXIT_FATAL);
        },
      );
    });
    running.member.stoppedPromise.then(
      () => {
        if (stopping) return;
        const fatal = running.member.fatalError;
        if (fatal !== undefined) {
          logger.error('member stopped on a fatal error', { error: fatal });
          finish(EXIT_FATAL);
        } else {
          logger.info('member stopped');
          finish(EXIT_OK);
        }
      },
      (error: unknown) => {
        logger.error('member stopped on a fatal error', { error });
        finish(EXIT_FATAL);
      },
    );
  });
}

/** A leader with other voters hands leadership to one before closing (close() would too; this says how it went). */
async function handOff(running: RunningMember, wasLeader: boolean, logger: StderrLogger): Promise<void> {
  if (!wasLeader) return;
  await running.member.transferLeadershipAway();
  const leader = running.member.leaderId();
  if (running.member.isLeader()) logger.warn('could not hand leadership away (no caught-up voter answered); stopping anyway');
  else logger.info('handed leadership away', { to: leader === 0n ? 'election pending' : leader.toString(16) });
}
