/** Spawns test/support/holder-process.ts and reads its JSON-line events. */
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './process.js';

const script = fileURLToPath(new URL('./holder-process.ts', import.meta.url));

export class HolderProcess extends ManagedProcess {
  constructor(args: string[]) {
    super(process.execPath, ['--import', 'tsx', script, ...args]);
  }

  events(): Array<Record<string, string | boolean | undefined>> {
    return this.log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, string | boolean | undefined>);
  }

  event(name: string): Record<string, string | boolean | undefined> | undefined {
    return this.events().find((e) => e.event === name);
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }
}
