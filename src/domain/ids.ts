import crypto from "node:crypto";
import { ulid } from "ulid";

/**
 * ULIDs' random part from a pool of random bytes, refilled 4 kB at a time (ulid's default asks
 * the system for one byte per character: 16 calls per id). Still a cryptographic source.
 */
const POOL_SIZE = 4096;
let pool = crypto.randomBytes(POOL_SIZE);
let next = 0;
function pooledRandom(): number {
  if (next === POOL_SIZE) {
    pool = crypto.randomBytes(POOL_SIZE);
    next = 0;
  }
  return pool[next++]! / 256;
}

/** Medusa-style ids: a type prefix and a ULID (`cus_01J...`, `order_01J...`). */
export function newId(prefix: "cus" | "order" | "oclaim"): string {
  return `${prefix}_${ulid(undefined, pooledRandom)}`;
}
