// No AsyncLocalStorage, async hooks or promise hooks anywhere under src/: on Node 20 a single
// AsyncLocalStorage.run (or an enabled async hook) turns on V8's promise hooks for the whole
// process, and every promise of the member pays for it. The caller's identity travels as an
// argument instead (src/server/auth/caller.ts). eslint bans the imports; this also catches
// require(), dynamic import() and the globals reached other ways, in comments-free code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

/** The code of a TypeScript file without its comments (strings kept: an import specifier is one). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const FORBIDDEN = [
  /['"](node:)?async_hooks['"]/,
  /\bAsyncLocalStorage\b/,
  /\bAsyncResource\b/,
  /\bexecutionAsyncResource\b/,
  /\bexecutionAsyncId\b/,
  /\bcreateHook\b/,
  /\bpromiseHooks\b/,
];

/** Every use of a forbidden name in `code`, as `file:line: text`. */
function uses(file: string, code: string): string[] {
  const found: string[] = [];
  code.split('\n').forEach((line, i) => {
    if (FORBIDDEN.some((pattern) => pattern.test(line))) found.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
  });
  return found;
}

describe('no async context tracking in src/', () => {
  it('no file imports async_hooks or uses AsyncLocalStorage, async or promise hooks', () => {
    const found = [...sources(SRC)].flatMap((file) => uses(file, withoutComments(readFileSync(file, 'utf8'))));
    expect(found).toEqual([]);
  });

  it('the scan would see each of them (it is not vacuous)', () => {
    const sample = [
      "import { AsyncLocalStorage } from 'node:async_hooks';",
      "const hooks = require('async_hooks');",
      'const { promiseHooks } = await import("node:v8");',
      'executionAsyncResource();',
      '// AsyncLocalStorage in a comment is fine',
    ].join('\n');
    expect(uses('x.ts', withoutComments(sample))).toHaveLength(4);
  });
});
