import type { Db } from "../db/database";
import { isEmail, normalizeEmail } from "../domain/email";
import type { Selection } from "./selection";

/** Customer records as their owners and the public see them. */
export class CustomerService {
  constructor(private readonly deps: { prisma: Db }) {}

  /** The signed-in customer's own record (not deleted), or null. */
  findSelf<S extends Selection>(customerId: string, selection: S = {} as S) {
    return this.deps.prisma.customer.findFirst({ ...selection, where: { id: customerId, deleted_at: null } });
  }

  /** Whether a registered customer (not a guest record) has this email: Medusa's `GET /store/auth/:email`. */
  async accountExists(email: string): Promise<boolean> {
    const normalized = normalizeEmail(email);
    if (!isEmail(normalized)) return false;
    const customer = await this.deps.prisma.customer.findFirst({ where: { email: normalized, has_account: true, deleted_at: null }, select: { id: true } });
    return customer !== null;
  }
}
