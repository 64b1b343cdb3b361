/**
 * Summarises V8 CPU profiles (`node --cpu-prof` output, as `server.bench.ts --profile=DIR`
 * writes them): self time per function (name and file:line), and per source file, summed over
 * every profile given, as a share of all samples. Idle and GC show as V8's own "(idle)",
 * "(garbage collector)" and "(program)" nodes.
 *
 * Usage: npx tsx bench/support/profile-summary.ts <file.cpuprofile|dir>... [--top=N] [--all-threads]
 * (directories are searched recursively; only main-thread profiles unless --all-threads)
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.split('=')[1] ?? 40);
const allThreads = args.includes('--all-threads');

/** Profiles under `path`; node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile. */
function profilesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => {
    const child = join(path, name);
    if (statSync(child).isDirectory()) return profilesUnder(child);
    if (!name.endsWith('.cpuprofile')) return [];
    // Thread 0 is the main thread; others are tsx's module loader (startup only).
    return allThreads || name.split('.').at(-3) === '0' ? [child] : [];
  });
}

const files = args.filter((a) => !a.startsWith('--')).flatMap(profilesUnder);
if (files.length === 0) {
  console.error('usage: profile-summary.ts <file.cpuprofile|dir>... [--top=N]');
  process.exit(2);
}

/** Coarse areas by source location, first match wins. */
const AREAS: ReadonlyArray<[string, RegExp]> = [
  ['module loading (startup)', /node:internal\/modules|node_modules\/tsx|cjs-module-lexer|node:internal\/bootstrap|esbuild/],
  ['grpc-js', /@grpc\/grpc-js/],
  ['protobuf-es', /@bufbuild\/protobuf/],
  ['http2 (node)', /node:internal\/http2/],
  ['streams, events, abort signals (node)', /node:internal\/(streams|event_target|abort_controller|events)|node:events/],
  ['src/server/api', /src\/server\/api\//],
  ['src/server (member, driver, peer)', /src\/server\//],
  ['src/mvcc', /src\/mvcc\//],
  ['src/raft', /src\/raft\//],
  ['src/storage', /src\/storage\//],
  ['src/base, src/gen', /src\/(base|gen)\//],
];

function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native calls (fs/socket writes, crypto, ...)';
  return AREAS.find(([, pattern]) => pattern.test(url))?.[0] ?? 'other node internals';
}

const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let totalMicros = 0;
const cwd = process.cwd();

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const rel = relative(cwd, path);
  return rel.startsWith('..') ? path : rel;
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const node = nodes.get(profile.samples[i]!)!;
    const micros = profile.timeDeltas[i] ?? 0;
    totalMicros += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = shortUrl(url);
    const name = `${functionName || '(anonymous)'} ${where === '(native)' ? '' : `${where}:${lineNumber + 1}`}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    byFile.set(where, (byFile.get(where) ?? 0) + micros);
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
  }
}

function print(title: string, map: Map<string, number>, count: number): void {
  console.log(`\n${title}`);
  console.log('| self ms | share | where |');
  console.log('| ---: | ---: | --- |');
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`| ${(micros / 1000).toFixed(0)} | ${((micros / totalMicros) * 100).toFixed(1)}% | ${name.replaceAll('|', '\\|')} |`);
  }
}

console.log(`${files.length} profile(s), ${(totalMicros / 1e6).toFixed(1)} s sampled`);
print('self time by area', byArea, AREAS.length + 8);
print('self time by function', byFunction, top);
print('self time by file', byFile, Math.ceil(top / 2));
