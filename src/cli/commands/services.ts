import { Option } from 'commander';
import type { Command } from 'commander';
import { ServiceDiscovery } from '../../index.js';
import type { ServiceInstance } from '../../index.js';
import { addClientFlags } from '../client-flags.js';
import type { ClientFlags } from '../client-flags.js';
import { EXIT_OK, action } from '../context.js';
import type { CliContext } from '../context.js';
import { etcdJson, formatTable } from '../output.js';
import { withClient } from './kv.js';

interface ServicesFlags extends ClientFlags {
  readonly servicesPrefix: string;
  readonly all?: boolean;
}

export function register(program: Command, context: CliContext): void {
  const { io } = context;
  const services = program.command('services').description('the service registry (ServiceRegistry entries, etcd\'s naming/endpoints format)');
  const withFlags = (command: Command): Command => addClientFlags(command
    .argument('<service>')
    .addOption(new Option('--services-prefix <prefix>', 'where the registry lives').default('services/'))
    .option('--all', 'include instances marked unhealthy'));
  const print = (instances: ServiceInstance[], flags: ServicesFlags): void => {
    if (flags.writeOut === 'json') io.out(`${etcdJson(instances.map((i) => ({ id: i.id, address: i.address, healthy: i.healthy, metadata: i.metadata, modRevision: i.modRevision })))}\n`);
    else if (flags.writeOut === 'simple') io.out(instances.map((i) => `${i.id} ${i.address}${i.healthy ? '' : ' unhealthy'}\n`).join(''));
    else io.out(formatTable(['id', 'address', 'health', 'metadata'], instances.map((i) => [i.id, i.address, i.healthy ? 'healthy' : 'unhealthy', JSON.stringify(i.metadata)])));
  };
  withFlags(services.command('list').description('the instances of a service')).action(action(context, (service: string, flags: ServicesFlags) => withClient(context, 'services list', flags, async (client, signal) => {
    print(await new ServiceDiscovery(client, { prefix: flags.servicesPrefix }).list(service, { healthyOnly: flags.all !== true, signal }), flags);
    return EXIT_OK;
  })));
  withFlags(services.command('watch').description('print the instance set now and after every change, until Ctrl-C')).action(action(context, (service: string, flags: ServicesFlags) => withClient(context, 'services watch', flags, async (client, signal) => {
    try {
      for await (const instances of new ServiceDiscovery(client, { prefix: flags.servicesPrefix }).watch(service, { healthyOnly: flags.all !== true, signal })) {
        print(instances, flags);
        if (flags.writeOut === 'table') io.out('\n');
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    return EXIT_OK;
  })));
}
