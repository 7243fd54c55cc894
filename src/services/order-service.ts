import type { Db } from "../db/database";
import type { OrderStatus } from "../db/generated/prisma/enums";
import { hasControlCharacters, isEmail, normalizeEmail } from "../domain/email";
import type { Selection } from "./selection";

/** Order reads, with the ownership rule written once: a customer sees only their own orders. */
export class OrderService {
  constructor(private readonly deps: { prisma: Db }) {}

  /** One of the customer's own orders; null for anyone else's or an unknown id. */
  findOwn<S extends Selection>(customerId: string, orderId: string, selection: S = {} as S) {
    return this.deps.prisma.order.findFirst({ ...selection, where: { id: orderId, customer_id: customerId } });
  }

  /** Any order by id, as Medusa's `GET /store/orders/:id` (the id is the secret); null if unknown. */
  findById<I extends object>(orderId: string, include: I) {
    if (hasControlCharacters(orderId)) return Promise.resolve(null);
    return this.deps.prisma.order.findUnique({ where: { id: orderId }, include });
  }

  /** The order placed from a cart, as Medusa's `GET /store/orders/cart/:cart_id`; null if none. */
  findByCartId<I extends object>(cartId: string, include: I) {
    if (hasControlCharacters(cartId)) return Promise.resolve(null);
    return this.deps.prisma.order.findUnique({ where: { cart_id: cartId }, include });
  }

  /** A page of the customer's own orders, newest first, and how many there are in all. */
  async listOwn<I extends object>(customerId: string, page: { limit: number; offset: number; statuses?: OrderStatus[] }, include: I) {
    const where = { customer_id: customerId, ...(page.statuses?.length ? { status: { in: page.statuses } } : {}) };
    const [orders, count] = await Promise.all([
      this.deps.prisma.order.findMany({ where, include, orderBy: [{ created_at: "desc" }, { id: "desc" }], skip: page.offset, take: page.limit }),
      this.deps.prisma.order.count({ where }),
    ]);
    return { orders, count };
  }

  /**
   * Guest lookup, as Medusa's `GET /store/orders`: the order with this number placed under this
   * email (compared case-insensitively), if exactly one; otherwise null.
   */
  async lookUp<S extends Selection>(displayId: number, email: string, selection: S = {} as S) {
    if (!isEmail(email.trim())) return null;
    const matches = await this.deps.prisma.order.findMany({
      ...selection,
      where: { display_id: displayId, email: { equals: normalizeEmail(email), mode: "insensitive" } },
      take: 2,
    });
    return matches.length === 1 ? matches[0]! : null;
  }
}
