/**
 * npm run chaos -- [--minutes N] [--seconds N] [--seed S] [--system conclave|etcd]
 *                  [--members N] [--nemesis kind,kind,...] [--plant serializable-reads|mutex-without-predecessor-wait|watch-resume-skew|etcd-progress-requests]
 *
 * Runs one chaos pass (see run.ts) and prints its counts and violations; exits 1 on any violation.
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS } from './nemesis.js';
import type { FaultKind } from './nemesis.js';
import { PLANTS, describeReport, runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    members: { type: 'string' },
    system: { type: 'string', default: 'conclave' },
    nemesis: { type: 'string' },
    plant: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}

async function main(): Promise<number> {
  const seconds = values.seconds !== undefined ? positive('seconds', values.seconds, 0) : positive('minutes', values.minutes, 1) * 60;
  const seed = Math.floor(positive('seed', values.seed, Math.floor(Math.random() * 2 ** 31)));
  const members = Math.floor(positive('members', values.members, 5));
  if (values.system !== 'conclave' && values.system !== 'etcd') throw new Error('--system must be conclave or etcd');
  const kinds = values.nemesis?.split(',').map((k) => k.trim()) ?? [...FAULT_KINDS];
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`--nemesis: unknown fault ${k}; known: ${FAULT_KINDS.join(', ')}`);
  const plant = new Set(values.plant?.split(',') ?? []);
  for (const p of plant) if (!(PLANTS as readonly string[]).includes(p)) throw new Error(`--plant: unknown ${p}; known: ${PLANTS.join(', ')}`);
  console.log(`chaos: ${values.system}, ${members} members, ${seconds} s, seed ${seed}, faults ${kinds.join(',')}${plant.size > 0 ? `, planted ${[...plant].join(',')}` : ''}`);
  const startedAt = performance.now();
  const report = await runChaos({ system: values.system, members, seconds, seed, kinds: kinds as FaultKind[], plant, ...(values.verbose ? { log: (line: string) => console.log(`  ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s  ${line}`) } : {}) });
  console.log(describeReport(report));
  return report.violations.length === 0 ? 0 : 1;
}

// Exits explicitly: a failed run may leave a client's reconnect timer behind.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(2);
  },
);
