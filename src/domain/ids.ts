import { ulid } from "ulid";

/** Medusa-style ids: a type prefix and a ULID (`cus_01J...`, `order_01J...`). */
export function newId(prefix: "cus" | "order" | "oclaim"): string {
  return `${prefix}_${ulid()}`;
}
