import type { Customer } from "../db/generated/prisma/client";

/** Medusa's customer object, minus the password hash (never sent anywhere). */
export function serializeCustomer(customer: Customer) {
  const { password_hash: _passwordHash, ...visible } = customer;
  return visible;
}
