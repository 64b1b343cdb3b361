/**
 * How a bench starts more of itself (servers, load workers): as the compiled JavaScript that
 * `npm run bench` builds first (tsc into .bench-build/, what users run from the package's
 * dist/), or as TypeScript through tsx with `npm run bench -- --from-source`. tsx compiles
 * with esbuild's keepNames, which wraps every function expression in a `__name` call, so code
 * that makes closures per call runs measurably slower under it (an embedded get: ~10% more
 * CPU); etcd and the etcd3 package are measured as shipped, so Conclave is too.
 */
import { fileURLToPath } from 'node:url';

/** True when this bench runs from the tsc build. */
export const COMPILED = import.meta.url.endsWith('.js');

/** Node flags a child needs to run a sibling script in the same form as this process. */
export const NODE_LOADER_ARGS: readonly string[] = COMPILED ? [] : ['--import', 'tsx'];

/** What the bench output says it ran. */
export const RUNTIME_DESCRIPTION = COMPILED ? 'compiled JS (tsc build)' : 'TypeScript through tsx (--from-source)';

/**
 * The path of a script given by its TypeScript source path relative to `base` (the caller's
 * import.meta.url): the .js twin when compiled.
 */
export function scriptPath(base: string, relativeTs: string): string {
  return fileURLToPath(new URL(COMPILED ? relativeTs.replace(/\.ts$/, '.js') : relativeTs, base));
}
