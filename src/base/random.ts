/**
 * The Random port. Everything that draws a random number takes one of these, so a simulation
 * seeded with S replays exactly. `SeededRandom` is the only implementation the pure cores see;
 * the server wires one seeded from the operating system's entropy.
 */
export interface Random {
  /** An integer uniformly drawn from [0, maxExclusive). maxExclusive must be in [1, 2^32]. */
  int(maxExclusive: number): number;
  /** A float uniformly drawn from [0, 1). */
  float(): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/**
 * xoshiro128** (Blackman and Vigna), 32-bit state words, seeded through splitmix32 so that
 * nearby seeds give unrelated streams. Fast, small, and good enough for simulation and jitter;
 * not for cryptography.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let state = seed >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    // Mix in the high bits of seeds above 2^32 so that every safe integer gives its own stream.
    state = (state ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    return result;
  }

  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > 0x1_0000_0000) {
      throw new RangeError(`Random.int: maxExclusive must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    // Rejection sampling removes modulo bias.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % maxExclusive);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % maxExclusive;
    }
  }

  float(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** A new independent generator derived from this one (for giving each component its own stream). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32() * 0x1000 + (this.nextUint32() & 0xfff));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
