// Golden scripts: the key index and store-level compaction replayed step by step, the state
// printed after each step and compared with testdata/*.txt (reviewed by hand against etcd's
// keyIndex rules). UPDATE_GOLDEN=1 rewrites the files.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { KeyIndex } from '../../src/mvcc/key-index.js';
import { parseRevKey } from '../../src/mvcc/revision.js';
import { decodeKeyValue } from '../../src/mvcc/kv-codec.js';
import type { TxnRequest } from '../../src/mvcc/types.js';
import { cleanup, engines } from '../storage/backend/engines.js';
import { runGolden } from './golden.js';
import { b, kvText, Log } from './helpers.js';

const testdata = (name: string): string => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

afterAll(cleanup);

describe('golden: key index', () => {
  it('replays testdata/key-index.txt', () => {
    const ki = new KeyIndex('foo');
    runGolden(testdata('key-index.txt'), (command) => {
      const [verb, ...args] = command.split(/\s+/);
      const rev = (text: string): [number, number] => {
        const [main, sub] = text.split('.').map(Number);
        return [main!, sub ?? 0];
      };
      switch (verb) {
        case 'put':
          ki.put(...rev(args[0]!));
          return ki.describe();
        case 'tombstone':
          ki.tombstone(...rev(args[0]!));
          return ki.describe();
        case 'get':
          return args.map((a) => {
            const at = ki.get(Number(a));
            return `@${a}: ${at === undefined ? 'none' : `mod=${at.modMain}.${at.modSub} create=${at.createRevision} ver=${at.version}`}`;
          }).join('\n');
        case 'compact': {
          const keep = new Set<string>();
          const empty = ki.compact(Number(args[0]), keep);
          const kept = [...keep].map((k) => { const r = parseRevKey(k); return `${r.main}.${r.sub}`; });
          return `${ki.describe()}\nkeep=[${kept.join(' ')}] empty=${empty}`;
        }
        default:
          throw new Error(`unknown command ${command}`);
      }
    });
  });
});

describe.each(engines)('golden: compaction on $name', (engine) => {
  it('replays testdata/compaction.txt', () => {
    const log = Log.open(engine.create());
    const state = (): string => {
      const live = log.store.range({ key: b('\0'), rangeEnd: new Uint8Array([0]) }).kvs.map(kvText).join(' ');
      const history = [...log.store.backend.range('key', '')].map(([rk, value]) => {
        const r = parseRevKey(rk);
        return `${r.main}.${r.sub}${r.tombstone ? 't' : ''}->${kvText(decodeKeyValue(value))}`;
      });
      return `rev=${log.store.currentRevision} compacted=${log.store.compactRevision}\nlive: ${live}\nstored: ${history.join(' ')}`;
    };
    runGolden(testdata('compaction.txt'), (command) => {
      const [verb, ...args] = command.split(/\s+/);
      try {
        switch (verb) {
          case 'put':
            log.put(args[0]!, args[1]!);
            return state();
          case 'del':
            log.del(args[0]!);
            return state();
          case 'txn': {
            const ops = command.slice(4).split(';').map((part) => part.trim().split(/\s+/));
            const txn: TxnRequest = { success: ops.map(([, key, value]) => ({ put: { key: b(key!), value: b(value!) } })) };
            log.apply({ txn });
            return state();
          }
          case 'compact':
            log.compact(Number(args[0]));
            return state();
          case 'range':
            return log.get(args[0]!, Number(args[1])).join(' ') || '(none)';
          case 'hash': {
            const h = log.store.hashKv(Number(args[0]));
            return `hash=${h.hash.toString(16)} compact=${h.compactRevision} at=${h.hashRevision}`;
          }
          default:
            throw new Error(`unknown command ${command}`);
        }
      } catch (error) {
        return `error: ${(error as Error).message}`;
      }
    });
  });
});
