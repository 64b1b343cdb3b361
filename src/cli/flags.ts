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
 * Parses `--name value`, `--name=value` and the single-dash forms Go's flag package (and so
 * etcd) also accepts. `--` ends the flags. Unknown flags and missing values are usage errors,
 * never ignored: a misspelt `--snapshot-cuont` must not silently run with the default.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], rejected: ReadonlyMap<string, string> = new Map()): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string | boolean>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const refusal = rejected.get(name);
    if (refusal !== undefined) throw new UsageError(`--${name}: ${refusal}`);
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`unknown flag --${name}${suggest(name, specs)}`);
    if (spec.kind === 'boolean') {
      if (inline === undefined) values.set(name, true);
      else if (inline === 'true' || inline === 'false') values.set(name, inline === 'true');
      else throw new UsageError(`--${name} takes no value (or =true / =false), got ${JSON.stringify(inline)}`);
      continue;
    }
    if (inline !== undefined) {
      values.set(name, inline);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || (next.startsWith('-') && next !== '-' && byName.has(next.replace(/^--?/, '').split('=')[0]!))) {
      throw new UsageError(`--${name} needs a value`);
    }
    values.set(name, next);
    i += 1;
  }
  return { values, positionals };
}

/** " (did you mean --x?)" for a near miss: same flag with at most two edits. */
function suggest(name: string, specs: readonly FlagSpec[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const spec of specs) {
    const d = editDistance(name, spec.name);
    if (d < bestDistance) {
      best = spec.name;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean --${best}?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The flag list of a command's --help, one flag a line with its default. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const heads = specs.map((s) => `  --${s.name}${s.kind === 'value' ? ` <${s.valueName ?? 'value'}>` : ''}`);
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  return specs.map((s, i) => `${heads[i]!.padEnd(width)}${s.description}${s.defaultText === undefined ? '' : ` (default ${s.defaultText})`}`).join('\n');
}
