import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { Client } from '../index.js';
import type { ClientOptions } from '../index.js';
import { UsageError } from './flags.js';

/** The flags every client command shares (etcdctl's spellings). */
export interface ClientFlags {
  readonly endpoints: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  /** etcdctl's `--user name[:password]`. */
  readonly user?: string;
  readonly password?: string;
  readonly commandTimeout: number;
  readonly writeOut: 'table' | 'json' | 'simple';
}

export function positiveInteger(name: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
    return Number(text);
  };
}

export function nonNegativeInteger(name: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    return Number(text);
  };
}

/** Adds --endpoints, --cacert/--cert/--key, --user/--password, --command-timeout and -w to a client command. */
export function addClientFlags(command: Command): Command {
  return command
    .addOption(new Option('--endpoints <host:port,...>', 'members to talk to (comma-separated)').env('CONCLAVE_ENDPOINTS').default('127.0.0.1:2379'))
    .addOption(new Option('--cacert <path>', 'PEM CA bundle that verifies the members (use https:// endpoints or give it to turn TLS on)'))
    .addOption(new Option('--cert <path>', 'PEM client certificate, for members with --client-cert-auth'))
    .addOption(new Option('--key <path>', 'PEM private key of --cert'))
    .addOption(new Option('--user <name[:password]>', 'log in as this user (etcdctl\'s form; the password may follow a colon)').env('CONCLAVE_USER'))
    .addOption(new Option('--password <password>', 'the password of --user, when it is not given after a colon').env('CONCLAVE_PASSWORD'))
    .addOption(new Option('--command-timeout <ms>', 'time limit of each call, retries included').default(5_000).argParser(positiveInteger('--command-timeout')))
    .addOption(new Option('-w, --write-out <format>', 'output format').choices(['table', 'json', 'simple']).default('table'));
}

/** A Client configured by the shared flags. Bad TLS files are usage errors. */
export function clientFromFlags(flags: ClientFlags, extra: Partial<ClientOptions> = {}): Client {
  const endpoints = flags.endpoints.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw new UsageError('--endpoints must name at least one member');
  const wantsTls = flags.cacert !== undefined || flags.cert !== undefined || endpoints.some((e) => e.startsWith('https://'));
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new UsageError('--cert and --key go together');
  const read = (flag: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new UsageError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const auth = credentialsFromFlags(flags);
  const tls = wantsTls ? { ca: read('--cacert', flags.cacert), cert: read('--cert', flags.cert), key: read('--key', flags.key) } : undefined;
  return new Client({
    endpoints: endpoints.map((e) => e.replace(/^https?:\/\//, '')),
    callTimeoutMs: flags.commandTimeout,
    ...(tls === undefined ? {} : { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) }),
    ...(auth === undefined ? {} : { auth }),
    ...extra,
  });
}

/** `--user name:password`, or `--user name --password p` (etcdctl splits at the first colon). */
export function credentialsFromFlags(flags: Pick<ClientFlags, 'user' | 'password'>): { username: string; password: string } | undefined {
  if (flags.user === undefined) {
    if (flags.password !== undefined) throw new UsageError('--password goes with --user');
    return undefined;
  }
  const colon = flags.user.indexOf(':');
  const username = colon < 0 ? flags.user : flags.user.slice(0, colon);
  const inline = colon < 0 ? undefined : flags.user.slice(colon + 1);
  if (username === '') throw new UsageError('--user needs a user name');
  if (inline !== undefined && flags.password !== undefined) throw new UsageError('give the password after the colon in --user or with --password, not both');
  const password = inline ?? flags.password;
  if (password === undefined) throw new UsageError('--user needs a password: --user name:password or --password');
  return { username, password };
}
