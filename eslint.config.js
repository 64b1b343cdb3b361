// Lint: typescript-eslint's recommended rules everywhere, plus the bans that keep the pure
// cores (raft/, mvcc/) deterministic. Import direction between folders is checked by
// scripts/check-boundaries.mjs, which reads ARCHITECTURE.md's table from one place.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// AsyncLocalStorage and async hooks turn on V8's promise hooks for the whole process (Node
// 20), which every promise of the member then pays for; callers' identities travel as
// arguments instead (src/server/auth/caller.ts). Shared by both blocks below: a later
// block's no-restricted-imports replaces an earlier one's, it does not add to it.
const asyncContextBans = {
  paths: [{ name: 'node:v8', importNames: ['promiseHooks'], message: 'Promise hooks slow every promise in the process.' }, { name: 'v8', importNames: ['promiseHooks'], message: 'Promise hooks slow every promise in the process.' }],
  patterns: [{ group: ['node:async_hooks', 'async_hooks'], message: 'AsyncLocalStorage/async hooks turn on promise hooks process-wide; pass the context as an argument.' }],
};

const nondeterministicGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'performance']
  .map((name) => ({ name, message: 'The pure core gets time from ticks or an injected Clock.' }));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.bench-build/', 'src/gen/', 'docs/api/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', asyncContextBans] },
  },
  {
    files: ['src/raft/**/*.ts', 'src/mvcc/**/*.ts', 'src/server/lessor/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...nondeterministicGlobals],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use ticks or the injected Clock.' },
        { object: 'Math', property: 'random', message: 'Use the injected Random.' },
        { object: 'performance', property: 'now', message: 'Use the injected Clock.' },
        { object: 'process', property: 'hrtime', message: 'Use the injected Clock.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date']", message: 'Use ticks or the injected Clock.' },
      ],
      'no-restricted-imports': ['error', { paths: asyncContextBans.paths, patterns: [
        ...asyncContextBans.patterns,
        { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*', 'node:net', 'net', 'node:dgram', 'node:http', 'node:http2', 'node:child_process', 'node:timers', 'node:timers/*'], message: 'The pure core does no I/O and sets no timers.' },
      ] }],
    },
  },
);
