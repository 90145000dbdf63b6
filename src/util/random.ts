// Injected randomness (ARCHITECTURE rule 6): crypto-strong by default, seeded and reproducible in tests.
// CONTRACT: the interface is fixed; implementations follow.

export interface RandomSource {
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number;
  /** Fill `out` with random bytes and return it. */
  fill(out: Uint8Array): Uint8Array;
}
