import { Command, CommanderError, Option } from 'commander';
import { ConclaveError } from '../base/errors.js';

/** A command line the user got wrong: the command prints the message and exits with 2. */
export class UsageError extends ConclaveError {
  constructor(message: string) {
    super('ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  readonly name: string;
  /** `boolean` flags take no value (`--help`), or an explicit `--flag=true|false`. */
  readonly kind: 'value' | 'boolean';
  readonly description: string;
  /** Shown in --help. */
  readonly defaultText?: string;
  readonly valueName?: string;
}

export interface ParsedFlags {
  /** Flag name (without dashes) to its raw value; the last occurrence wins, as in Go's flag package. */
  readonly values: Map<string, string | boolean>;
  readonly positionals: string[];
}

/**
 * Parses etcd-style flags with commander: `--name value`, `--name=value` and the single-dash
 * forms Go's flag package (and so etcd) also accepts. Commander knows only `--long`, so the
 * Go spellings are first rewritten into commander's (`-name` -> `--name`, a bare switch ->
 * `--switch=true`), and a flag followed by another known flag is refused as missing its value
 * (commander would take `--data-dir` as the value of `--name`). `--` ends the flags. Unknown
 * flags and missing values are usage errors, never ignored: a misspelt `--snapshot-cuont`
 * must not silently run with the default.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], rejected: ReadonlyMap<string, string> = new Map()): ParsedFlags {
  const command = new Command()
    .exitOverride()
    .helpOption(false)
    .allowExcessArguments()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .argument('[positionals...]');
  const nameByAttribute = new Map<string, string>();
  for (const spec of specs) {
    const option = spec.kind === 'boolean'
      ? new Option(`--${spec.name} [true|false]`, spec.description).argParser((text: string) => parseSwitch(spec.name, text))
      : new Option(`--${spec.name} <${spec.valueName ?? 'value'}>`, spec.description);
    command.addOption(option);
    nameByAttribute.set(option.attributeName(), spec.name);
  }
  try {
    command.parse(goStyleToCommander(argv, specs, rejected), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new UsageError(commanderMessage(error));
    throw error;
  }
  const values = new Map<string, string | boolean>();
  for (const [attribute, value] of Object.entries(command.opts())) {
    const name = nameByAttribute.get(attribute);
    if (name !== undefined && (typeof value === 'string' || typeof value === 'boolean')) values.set(name, value);
  }
  return { values, positionals: [...command.args] };
}

/** Go's flag forms in commander's: single dash to double, bare switches made explicit. */
function goStyleToCommander(argv: readonly string[], specs: readonly FlagSpec[], rejected: ReadonlyMap<string, string>): string[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const nameOf = (arg: string): string => arg.replace(/^--?/, '').split('=')[0]!;
  const isFlag = (arg: string): boolean => arg.startsWith('-') && arg !== '-' && arg !== '--';
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!isFlag(arg)) {
      out.push(arg);
      continue;
    }
    const name = nameOf(arg);
    const refusal = rejected.get(name);
    if (refusal !== undefined) throw new UsageError(`--${name}: ${refusal}`);
    const long = `--${arg.replace(/^--?/, '')}`;
    const spec = byName.get(name);
    if (spec === undefined) {
      out.push(long);
      continue;
    }
    const inline = long.includes('=');
    if (spec.kind === 'boolean') {
      out.push(inline ? long : `${long}=true`);
      continue;
    }
    if (!inline) {
      const next = argv[i + 1];
      if (next === undefined || (isFlag(next) && byName.has(nameOf(next)))) throw new UsageError(`--${name} needs a value`);
      out.push(long, next);
      i += 1;
      continue;
    }
    out.push(long);
  }
  return out;
}

function parseSwitch(name: string, text: string): boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  throw new UsageError(`--${name} takes no value (or =true / =false), got ${JSON.stringify(text)}`);
}

/** Commander's error text in the wording of our other usage errors. */
export function commanderMessage(error: CommanderError): string {
  const text = error.message.replace(/^error: /, '');
  const unknown = /^unknown option '([^']+)'(?:\n\(Did you mean (\S+)\?\))?/.exec(text);
  if (unknown !== null) return `unknown flag ${unknown[1]}${unknown[2] === undefined ? '' : ` (did you mean ${unknown[2]}?)`}`;
  return text.replace(/\n/g, ' ');
}

/** The flag list of a command's --help, one flag a line with its default. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const heads = specs.map((s) => `  --${s.name}${s.kind === 'value' ? ` <${s.valueName ?? 'value'}>` : ''}`);
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  return specs.map((s, i) => `${heads[i]!.padEnd(width)}${s.description}${s.defaultText === undefined ? '' : ` (default ${s.defaultText})`}`).join('\n');
}
