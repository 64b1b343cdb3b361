import { Option } from 'commander';
import type { Command } from 'commander';
import { startDashboard } from '../dashboard/index.js';
import { addClientFlags, clientFromFlags, positiveInteger } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_OK, action } from '../context.js';
import type { CliContext } from '../context.js';
import { stopSignal, InterruptedError } from '../stop-signal.js';
import { whenAborted } from '../child-process.js';
import { failure } from './failure.js';

interface DashboardFlags extends ClientFlags {
  readonly listen: string;
  readonly allowActions?: boolean;
  readonly servicesPrefix: string;
  readonly refresh: number;
}

export function register(program: Command, context: CliContext): void {
  addClientFlags(program
    .command('dashboard')
    .description('serve a live web dashboard of any etcd-API cluster (Conclave or etcd): members, locks, elections, leases, services, keys, charts')
    .addOption(new Option('--listen <url>', 'http://host:port to serve the page on').default('http://127.0.0.1:2390'))
    .addOption(new Option('--allow-actions', 'let the page revoke leases and resign leaders (read-only without it)'))
    .addOption(new Option('--services-prefix <prefix>', 'where the service registry lives').default('services/'))
    .addOption(new Option('--refresh <ms>', 'member status, lease TTLs and /metrics are refreshed this often (keys are watched)').default(2_000).argParser(positiveInteger('--refresh'))))
    .action(action(context, (flags: DashboardFlags) => runDashboard(context, flags)));
}

async function runDashboard(context: CliContext, flags: DashboardFlags): Promise<number> {
  const stop = stopSignal(context.io);
  const client = clientFromFlags(flags);
  try {
    const dashboard = await startDashboard({
      client, listenUrl: flags.listen, allowActions: flags.allowActions === true, servicesPrefix: flags.servicesPrefix, refreshMs: flags.refresh,
    });
    context.io.out(`dashboard at ${dashboard.url}/ (${flags.allowActions === true ? 'actions allowed' : 'read-only'})\n`);
    await whenAborted(stop.signal);
    await dashboard.close();
    return EXIT_OK;
  } catch (error) {
    if (error instanceof InterruptedError) return EXIT_OK;
    return failure(context.io, 'dashboard', error);
  } finally {
    stop.dispose();
    await client.close().catch(() => {});
  }
}
