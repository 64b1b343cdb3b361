import { CONCLAVE_VERSION } from '../server/version.js';
import type { CommandIo } from './server-command.js';
import { EXIT_OK, EXIT_USAGE, runServer } from './server-command.js';
import { runSnapshot } from './snapshot/command.js';

export const MAIN_HELP = `Usage: conclave <command> [flags]

Commands:
  server     run a Conclave member (etcd v3 API); 'conclave server --help' lists its flags
  snapshot   save, inspect and restore backups; 'conclave snapshot --help'

Flags:
  --help     print this help
  --version  print the version
`;

/** Dispatches the `conclave` command line to a subcommand; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.err : io.out)(MAIN_HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '--version' || command === 'version') {
    io.out(`conclave ${CONCLAVE_VERSION}\n`);
    return EXIT_OK;
  }
  if (command === 'server') return runServer(rest, io);
  if (command === 'snapshot') return runSnapshot(rest, io);
  io.err(`conclave: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
  return EXIT_USAGE;
}
