#!/usr/bin/env node
// Enforces the import table of ARCHITECTURE.md ("Which folder may import which") on every
// TypeScript file under src/. A file's folder is the first path segment below src/; a file
// directly in src/ (the package entry) belongs to the folder "root".
//
// Usage: node scripts/check-boundaries.mjs [srcDir]   exits 1 and lists every violation.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const recipes = ['lease', 'lock', 'election', 'discovery', 'barrier', 'queue', 'stm'];

/** folder -> folders it may import. "index" entries may only be reached through index.ts. */
const allowed = {
  base: [],
  gen: [],
  raft: ['base'],
  storage: ['base', 'raft'],
  mvcc: ['base', 'storage'],
  server: ['base', 'gen', 'raft', 'storage', 'mvcc'],
  client: ['base', 'gen', 'telemetry'],
  // Spans, metrics and event hooks (@opentelemetry/api); used by the client and every recipe.
  telemetry: ['base'],
  // The root SDK entry too, so a test cluster's client() has session() and lease().
  testing: ['server', 'client', 'base', 'root'],
  // The `conclave/server` entry: startMember() whose result also hands out an in-process Client.
  embed: ['base', 'server', 'client', 'root'],
  // "Everything but test code", including the root SDK entry (the client commands use its Client with session()).
  cli: ['base', 'gen', 'raft', 'storage', 'mvcc', 'server', 'client', 'testing', 'telemetry', 'root', ...recipes],
  root: ['base', 'client', 'telemetry', ...recipes],
};
for (const recipe of recipes) allowed[recipe] = ['base', 'client', 'telemetry', ...recipes.filter((r) => r !== recipe)];

/** Folders whose files outsiders may reach only through the folder's index.ts. */
const publicIndexOnly = new Set(['client', 'telemetry', ...recipes]);
/** Importers to which publicIndexOnly applies (the recipes, per ARCHITECTURE.md). */
const indexOnlyImporters = new Set([...recipes, 'client']);

const srcDir = resolve(process.argv[2] ?? 'src');

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

function folderOf(path) {
  const parts = relative(srcDir, path).split(sep);
  return parts.length === 1 ? 'root' : parts[0];
}

const specifierPattern = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

const violations = [];
let filesChecked = 0;
for (const file of walk(srcDir)) {
  filesChecked += 1;
  const from = folderOf(file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(specifierPattern)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier);
    if (!target.startsWith(srcDir + sep)) {
      violations.push(`${relative('.', file)}: imports ${specifier}, outside src/`);
      continue;
    }
    const to = folderOf(target);
    if (to === from) continue;
    const permitted = allowed[from];
    if (permitted === undefined) {
      violations.push(`${relative('.', file)}: folder src/${from}/ is not in the import table of ARCHITECTURE.md`);
      continue;
    }
    if (!permitted.includes(to)) {
      violations.push(`${relative('.', file)}: src/${from}/ may not import src/${to}/ (${specifier})`);
      continue;
    }
    if (indexOnlyImporters.has(from) && publicIndexOnly.has(to)) {
      const rest = relative(join(srcDir, to), target);
      if (!/^index\.(js|ts)$/.test(rest)) {
        violations.push(`${relative('.', file)}: src/${from}/ may use src/${to}/ only through its index (${specifier})`);
      }
    }
  }
}

if (violations.length > 0) {
  console.error(`import boundaries: ${violations.length} violation(s)`);
  for (const line of violations) console.error(`  ${line}`);
  process.exit(1);
}
console.log(`import boundaries: ${filesChecked} files checked, 0 violations`);
