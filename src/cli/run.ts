import { CONCLAVE_VERSION } from '../server/version.js';
import { Command, CommanderError } from 'commander';
import type { CliContext, Register } from './context.js';
import { EXIT_OK, EXIT_USAGE } from './context.js';
import { commanderMessage } from './flags.js';
import type { CommandIo } from './server-command.js';
import { register as server } from './server-command.js';
import { register as lock } from './commands/lock.js';
import { register as elect } from './commands/elect.js';
import { register as barrier } from './commands/barrier.js';
import { register as dashboard } from './commands/dashboard.js';
import { register as kv } from './commands/kv.js';
import { register as lease } from './commands/lease.js';
import { register as cluster } from './commands/cluster.js';
import { register as services } from './commands/services.js';
import { register as snapshot } from './snapshot/command.js';

/** Every command, one module each: adding a command is one line here. */
const COMMANDS: readonly Register[] = [
  server,
  lock,
  elect,
  barrier,
  kv,
  lease,
  cluster,
  services,
  dashboard,
  snapshot,
];

/** The `conclave` program with every command registered; output goes through `io`. */
export function createProgram(context: CliContext): Command {
  const { io } = context;
  const program = new Command('conclave')
    .description('Conclave: a Raft-replicated key-value server speaking the etcd v3 API, and tools for the coordination recipes')
    .version(`conclave ${CONCLAVE_VERSION}`, '--version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .helpCommand('help [command]', 'print the help of a command')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) => write(`conclave: ${commanderMessage(new CommanderError(1, '', text.trim())).replace(/unknown command '([^']*)'/, 'unknown command "$1"')}\n`),
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run 'conclave --help' for the commands)")
    // Flags after a command name belong to that command (`conclave server --help` is the server's help).
    .enablePositionalOptions();
  for (const register of COMMANDS) register(program, context);
  // Subcommands share the output settings and report errors instead of exiting the process.
  for (const command of program.commands) inherit(command, program);
  return program;
}

function inherit(command: Command, program: Command): void {
  command.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError(`(run 'conclave ${commandPath(command)} --help' for its usage)`);
  for (const child of command.commands) inherit(child, program);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Dispatches the `conclave` command line to a subcommand; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const context: CliContext = { io, exitCode: EXIT_OK };
  const program = createProgram(context);
  if (argv.length === 0) {
    io.err(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version end with a CommanderError too, with exit code 0.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  return context.exitCode;
}
