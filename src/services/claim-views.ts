import type { Db } from "../db/database";
import type { Prisma } from "../db/generated/prisma/client";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import { claimStatusAt, claimsInStatusesAt, movedLinksStillOwned, visibleOrderCount } from "../domain/claim-status";
import { hashClaimToken, looksLikeClaimToken } from "../domain/claim-token";
import { emailWithVisibleCodePoints, hasControlCharacters, maskEmail, normalizeEmail } from "../domain/email";

/** What the person holding a claim's token may see of it (the confirm page): the token is the proof. */
export interface TokenClaimView {
  /** As it stands now: a PENDING claim past its expiry is EXPIRED, whether or not the sweep has marked it yet. */
  status: OrderClaimStatus;
  /** Where the token went, masked. */
  recipientEmail: string;
  /**
   * The account the orders would move to, in full with characters outside ASCII written as code
   * points (`[U+0430]`): the recipient must be able to tell whose it is (design.md §3).
   */
  claimerEmail: string;
  /** Whether that address holds characters outside ASCII (shown as code points). */
  claimerEmailHasNonAscii: boolean;
  claimerCustomerId: string;
  /** The asking account's address as stored (not for display): what signs in to it. */
  claimerEmailForSignIn: string;
  /** When the asking account was created: a day-old account with a familiar name deserves a second look. */
  claimerCreatedAt: Date;
  /**
   * The asking account has the recipient's own address (a guest who registered later, or
   * someone who registered that address first): the token alone must not confirm, only someone
   * signed in to that account may (design.md §3).
   */
  signInRequired: boolean;
  /** The numbers of the orders it covers (they were placed under the recipient's address). */
  orderNumbers: number[];
  /** Of those, the ones its confirmation moved (an order whose email changed meanwhile stays). */
  movedOrderNumbers: number[];
  expiresAt: Date;
  verifiedAt: Date | null;
}

/** An order a verified claim moved, as the claimer's page lists it. */
export interface ClaimedOrderView {
  id: string;
  displayId: number;
  createdAt: Date;
  currencyCode: string;
  /** Sum of unit price times quantity over the items, in the currency's minor unit. */
  subtotal: number;
  itemCount: number;
}

/** One of a customer's claims as their own page shows it. */
export interface CustomerClaimView {
  id: string;
  status: OrderClaimStatus;
  recipientEmail: string;
  /** Opened by naming the address (claimOrdersByEmail). */
  byEmail: boolean;
  /** Null for a claim by email until VERIFIED (visibleOrderCount). */
  orderCount: number | null;
  createdAt: Date;
  expiresAt: Date;
  verifiedAt: Date | null;
  /** Empty until VERIFIED (the claimer does not own them before); then those moved that it still owns. */
  orders: ClaimedOrderView[];
}

/** A customer's claims with the orders each moved that the customer still owns. */
const customerClaimSelect = (customerId: string) =>
  ({
    id: true,
    claimer_customer_id: true,
    status: true,
    recipient_email: true,
    by_email: true,
    created_at: true,
    expires_at: true,
    verified_at: true,
    _count: { select: { orders: true } },
    orders: {
      where: movedLinksStillOwned(customerId),
      select: {
        order: {
          select: {
            id: true,
            display_id: true,
            created_at: true,
            currency_code: true,
            items: { select: { unit_price: true, quantity: true } },
          },
        },
      },
    },
  }) as const satisfies Prisma.OrderClaimSelect;

/** Claims as people read them on the pages: by token for the recipient, by customer for the claimer. Reads only. */
export class ClaimViewService {
  constructor(private readonly deps: { prisma: Db }) {}

  /**
   * The claim a token names, or null for anything that is not a live token's (malformed,
   * unknown, superseded ones included).
   */
  async byToken(token: string, now = new Date()): Promise<TokenClaimView | null> {
    if (!looksLikeClaimToken(token)) return null;
    const claim = await this.deps.prisma.orderClaim.findUnique({
      where: { token_hash: hashClaimToken(token) },
      select: {
        status: true,
        recipient_email: true,
        expires_at: true,
        verified_at: true,
        claimer_customer_id: true,
        claimer: { select: { email: true, created_at: true } },
        orders: { select: { transferred_at: true, order: { select: { display_id: true } } } },
      },
    });
    if (!claim) return null;
    const numbers = (links: typeof claim.orders) => links.map((link) => link.order.display_id).sort((a, b) => a - b);
    const claimerEmail = emailWithVisibleCodePoints(claim.claimer.email);
    return {
      status: claimStatusAt({ status: claim.status, expiresAt: claim.expires_at }, now),
      recipientEmail: maskEmail(claim.recipient_email),
      claimerEmail: claimerEmail.text,
      claimerEmailHasNonAscii: claimerEmail.hasNonAscii,
      claimerCustomerId: claim.claimer_customer_id,
      claimerEmailForSignIn: claim.claimer.email,
      claimerCreatedAt: claim.claimer.created_at,
      signInRequired: normalizeEmail(claim.claimer.email) === claim.recipient_email,
      orderNumbers: numbers(claim.orders),
      movedOrderNumbers: numbers(claim.orders.filter((link) => link.transferred_at !== null)),
      expiresAt: claim.expires_at,
      verifiedAt: claim.verified_at,
    };
  }

  /** The customer's newest claims, newest first. */
  async ofCustomer(customerId: string, limit: number, now = new Date()): Promise<CustomerClaimView[]> {
    return this.findOfCustomer({ claimer_customer_id: customerId }, customerId, { limit, offset: 0 }, now);
  }

  /** A page of the customer's claims, newest first, in the given statuses (all when none), and how many there are. */
  async pageOfCustomer(
    customerId: string,
    page: { limit: number; offset: number; statuses?: OrderClaimStatus[] },
    now = new Date(),
  ): Promise<{ claims: CustomerClaimView[]; count: number }> {
    const where: Prisma.OrderClaimWhereInput = {
      claimer_customer_id: customerId,
      ...(page.statuses?.length ? claimsInStatusesAt(page.statuses, now) : {}),
    };
    const [claims, count] = await Promise.all([
      this.findOfCustomer(where, customerId, page, now),
      this.deps.prisma.orderClaim.count({ where }),
    ]);
    return { claims, count };
  }

  private async findOfCustomer(
    where: Prisma.OrderClaimWhereInput,
    customerId: string,
    page: { limit: number; offset: number },
    now: Date,
  ): Promise<CustomerClaimView[]> {
    const claims = await this.deps.prisma.orderClaim.findMany({
      where,
      orderBy: [{ created_at: "desc" }, { id: "desc" }],
      skip: page.offset,
      take: page.limit,
      select: customerClaimSelect(customerId),
    });
    return claims.map((claim) => toCustomerView(claim, now));
  }

  /** One of the customer's claims; null for another customer's or an unknown id. */
  async oneOfCustomer(customerId: string, claimId: string, now = new Date()): Promise<CustomerClaimView | null> {
    // No id holds one (and PostgreSQL refuses a NUL outright).
    if (hasControlCharacters(claimId)) return null;
    const claim = await this.deps.prisma.orderClaim.findFirst({
      where: { id: claimId, claimer_customer_id: customerId },
      select: customerClaimSelect(customerId),
    });
    return claim ? toCustomerView(claim, now) : null;
  }
}

type SelectedClaim = Prisma.OrderClaimGetPayload<{ select: ReturnType<typeof customerClaimSelect> }>;

function toCustomerView(claim: SelectedClaim, now: Date): CustomerClaimView {
  const status = claimStatusAt({ status: claim.status, expiresAt: claim.expires_at }, now);
  const orders =
    status === OrderClaimStatus.VERIFIED
      ? claim.orders
          .map((link) => link.order)
          .map((order) => ({
            id: order.id,
            displayId: order.display_id,
            createdAt: order.created_at,
            currencyCode: order.currency_code,
            subtotal: order.items.reduce((sum, item) => sum + item.unit_price * item.quantity, 0),
            itemCount: order.items.reduce((sum, item) => sum + item.quantity, 0),
          }))
          .sort((a, b) => a.displayId - b.displayId)
      : [];
  return {
    id: claim.id,
    status,
    recipientEmail: maskEmail(claim.recipient_email),
    byEmail: claim.by_email,
    orderCount: visibleOrderCount(claim, claim._count.orders),
    createdAt: claim.created_at,
    expiresAt: claim.expires_at,
    verifiedAt: claim.verified_at,
    orders,
  };
}
