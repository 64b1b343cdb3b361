// Golden interaction scripts: each file in testdata/ is a list of commands ("> command") with
// the output they printed. The test reruns the commands and compares the whole trace. After a
// deliberate change, rewrite the files with UPDATE_GOLDEN=1 and read the diff before committing:
// every changed line is a change in the protocol's observable behaviour.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommand } from './interaction/commands.js';
import { InteractionEnv } from './interaction/env.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const rewrite = process.env.UPDATE_GOLDEN === '1';

function replay(script: string): string {
  const env = new InteractionEnv();
  const out: string[] = [];
  for (const line of script.split('\n')) {
    if (line.startsWith('#')) {
      out.push(line);
    } else if (isCommand(line)) {
      out.push(line);
      try {
        runCommand(env, line.slice(2));
      } catch (error) {
        env.print(`command failed: ${(error as Error).message}`);
      }
      out.push(...env.takeOutput(), '');
    }
    // Anything else is the previous run's output, regenerated above.
  }
  return out.join('\n').replace(/\n+$/, '\n');
}

/** Command lines start with "> " followed by a lower-case command name (output lines use "> N …"). */
function isCommand(line: string): boolean {
  return /^> [a-z]/.test(line);
}

describe('golden interaction scripts', () => {
  for (const file of readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const path = join(testdata, file);
      const expected = readFileSync(path, 'utf8');
      const actual = replay(expected);
      if (rewrite) writeFileSync(path, actual);
      else expect(actual).toBe(expected);
    });
  }
});
