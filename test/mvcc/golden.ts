// A small data-driven golden runner (in the style of etcd-io/raft's testdata scripts):
// a file is a list of blocks, each "command line / ---- / expected output", separated by
// blank lines. `runGolden` executes every command with `run` and compares the output with
// the expected text; with UPDATE_GOLDEN=1 it rewrites the file with the actual output
// instead (review the diff before committing it).
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

interface Block {
  command: string;
  expected: string;
}

function parse(text: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const lines = chunk.split('\n').filter((line) => !line.startsWith('#'));
    if (lines.every((line) => line.trim() === '')) continue;
    const sep = lines.indexOf('----');
    if (sep < 0) throw new Error(`golden block without ----: ${chunk}`);
    blocks.push({ command: lines.slice(0, sep).join('\n').trim(), expected: lines.slice(sep + 1).join('\n').trim() });
  }
  return blocks;
}

export function runGolden(path: string, run: (command: string) => string): void {
  const original = readFileSync(path, 'utf8');
  const blocks = parse(original);
  const update = process.env.UPDATE_GOLDEN === '1';
  const actual = blocks.map((block) => ({ command: block.command, output: run(block.command).trim() }));
  if (update) {
    // Keep the comment lines that precede each block.
    const comments = original.split(/\n\s*\n/).map((chunk) => chunk.split('\n').filter((line) => line.startsWith('#')).join('\n'));
    const out = actual.map((a, i) => `${comments[i] ? `${comments[i]}\n` : ''}${a.command}\n----\n${a.output}`).join('\n\n');
    writeFileSync(path, `${out}\n`);
    return;
  }
  for (let i = 0; i < blocks.length; i += 1) {
    expect(`${actual[i]!.command}\n----\n${actual[i]!.output}`).toBe(`${blocks[i]!.command}\n----\n${blocks[i]!.expected}`);
  }
}
