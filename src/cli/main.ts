#!/usr/bin/env node
/**
 * The `conclave` command. `conclave server [flags]` runs a member; see `conclave --help`.
 * Runs from the build (dist/src/cli/main.js, the package's bin) or from source with
 * `npx tsx src/cli/main.ts`.
 */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  onStopSignal: (handler) => {
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
    return () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    };
  },
});
// Exit explicitly: a stopped member leaves nothing that should keep the process alive, and a
// stray handle (a gRPC channel in back-off) must not turn "stopped" into "hung".
process.stderr.write('', () => process.exit(code));
