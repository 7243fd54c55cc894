import type { Db } from "../db/database";
import type { OrderStatus } from "../db/generated/prisma/enums";
import { hasControlCharacters, isEmail, normalizeEmail } from "../domain/email";
import type { RateLimiter } from "./rate-limiter";
import type { Selection } from "./selection";

/** Order reads, with the ownership rule written once: a customer sees only their own orders. */
export class OrderService {
  constructor(private readonly deps: { prisma: Db; rateLimiter: RateLimiter }) {}

  /** One of the customer's own orders; null for anyone else's or an unknown id. */
  findOwn<S extends Selection>(customerId: string, orderId: string, selection: S = {} as S) {
    // No id holds one (and PostgreSQL refuses a NUL outright).
    if (hasControlCharacters(orderId)) return Promise.resolve(null);
    return this.deps.prisma.order.findFirst({ ...selection, where: { id: orderId, customer_id: customerId } });
  }

  /** Any order by id, as Medusa's `GET /store/orders/:id` (the id is the secret); null if unknown. */
  findById<I extends object>(orderId: string, include: I) {
    if (hasControlCharacters(orderId)) return Promise.resolve(null);
    return this.deps.prisma.order.findUnique({ where: { id: orderId }, include });
  }

  /**
   * The order a checkout just made (its id from Medusa's answer), for whoever completed it, as
   * Medusa gives it to them. It is in this database when ordergate runs on Medusa's, as it must for
   * the storefront.
   */
  async placedOrder<S extends Selection>(orderId: string, selection: S = {} as S) {
    const order = await this.deps.prisma.order.findUnique({ ...selection, where: { id: orderId } });
    if (!order)
      throw new Error(
        `Medusa placed order ${orderId}, but it is not in ordergate's database: ` +
          "in front of Medusa, DATABASE_URL must be Medusa's",
      );
    return order;
  }

  /** The order placed from a cart, as Medusa's `GET /store/orders/cart/:cart_id`; null if none. */
  findByCartId<I extends object>(cartId: string, include: I) {
    if (hasControlCharacters(cartId)) return Promise.resolve(null);
    return this.deps.prisma.order.findUnique({ where: { cart_id: cartId }, include });
  }

  /** A page of the customer's own orders, newest first, and how many there are in all. */
  async listOwn<I extends object>(
    customerId: string,
    page: { limit: number; offset: number; statuses?: OrderStatus[] },
    include: I,
  ) {
    const where = { customer_id: customerId, ...(page.statuses?.length ? { status: { in: page.statuses } } : {}) };
    const [orders, count] = await Promise.all([
      this.deps.prisma.order.findMany({
        where,
        include,
        orderBy: [{ created_at: "desc" }, { id: "desc" }],
        skip: page.offset,
        take: page.limit,
      }),
      this.deps.prisma.order.count({ where }),
    ]);
    return { orders, count };
  }

  /**
   * Guest lookup, as Medusa's `GET /store/orders`: the order with this number placed under this
   * email, if exactly one; otherwise null. The email is compared for equality in its one
   * normalised form (normalizeEmail, on both sides, here rather than in SQL: it is never a
   * pattern, and PostgreSQL's case mapping depends on its locale). Every attempt, found or not,
   * counts against the limit per client address: display ids are a sequence.
   */
  async lookUp<S extends Selection>(displayId: number, email: string, clientIp: string, selection: S = {} as S) {
    await this.deps.rateLimiter.take("lookupPerIp", clientIp);
    const wanted = normalizeEmail(email);
    if (!isEmail(wanted)) return null;
    // The email is compared here, so it is read whatever else the caller selected.
    const withEmail = (
      selection.select ? { ...selection, select: { ...selection.select, email: true } } : selection
    ) as S;
    const candidates = await this.deps.prisma.order.findMany({ ...withEmail, where: { display_id: displayId } });
    const matches = candidates.filter((order) => normalizeEmail((order as { email: string }).email) === wanted);
    return matches.length === 1 ? matches[0]! : null;
  }
}
