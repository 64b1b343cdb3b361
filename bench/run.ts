/**
 * `npm run bench [-- <name>...] [-- --from-source]`: runs every bench/<name>.bench.ts (or only
 * those named) one after another, each in its own process so one bench's heap and JIT state
 * cannot skew the next. Each bench prints its own table; this runner prints which bench it
 * starts. `client` (bench/client.bench.ts) compares our SDK with the etcd3 package and a raw
 * grpc-js client.
 *
 * First it compiles src/, bench/ and test/support/ with tsc into .bench-build/ and runs the
 * benches from there, so Conclave is measured as users run it (the package ships tsc output)
 * rather than through tsx's esbuild transform (see support/runtime.ts). `--from-source` skips
 * the build and runs the TypeScript through tsx, as before.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(benchDir, '..');
const buildDir = join(repoRoot, '.bench-build');
const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const fromSource = process.argv.includes('--from-source');
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('-') && arg !== '--from-source');
const available = readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.ts'))
  .map((name) => name.slice(0, -'.bench.ts'.length))
  .sort();

const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown bench(es): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

if (!fromSource) {
  // A clean build every run: stale output would measure old code.
  rmSync(buildDir, { recursive: true, force: true });
  const startedAt = performance.now();
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.bench.json')], { stdio: 'inherit', cwd: repoRoot });
  if (tsc.status !== 0) {
    console.error('bench: the tsc build failed (run with --from-source to bench the TypeScript through tsx)');
    process.exit(1);
  }
  console.log(`bench: compiled into .bench-build/ in ${((performance.now() - startedAt) / 1000).toFixed(1)} s; running compiled JS`);
}

let failed = 0;
for (const name of requested.length > 0 ? requested : available) {
  console.log(`\n=== bench: ${name} ===`);
  const entry = fromSource ? ['--import', 'tsx', join(benchDir, `${name}.bench.ts`)] : [join(buildDir, 'bench', `${name}.bench.js`)];
  const result = spawnSync(process.execPath, [...entry, ...passThrough], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
