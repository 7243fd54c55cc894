import type { Config } from "../config";
import { type Db, Prisma } from "../db/database";
import type { OrderClaim } from "../db/generated/prisma/client";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import { hashClaimToken, looksLikeClaimToken, newClaimToken } from "../domain/claim-token";
import { hasControlCharacters, maskEmail, normalizeEmail } from "../domain/email";
import {
  AccountRequiredError,
  ClaimTokenExpiredError,
  ClaimTokenInvalidError,
  ClaimTokenUsedError,
  InvalidInputError,
  NotAuthenticatedError,
} from "../domain/errors";
import { newId } from "../domain/ids";
import { enqueueOutboxEvent } from "../events/outbox";
import { ORDER_CLAIM_UPDATED, ORDER_UPDATE_TOKEN_CREATED, type OutboxMessages } from "../events/topics";
import type { Logger } from "../logger";
import type { RateLimiter } from "./rate-limiter";
import type { Selection } from "./selection";

export interface ClaimServiceDeps {
  prisma: Db;
  config: Pick<Config, "claimTokenTtlMs" | "claimMaxOrders" | "claimReplaceOrderEmail">;
  rateLimiter: RateLimiter;
  logger: Logger;
  /** Called after a commit that wrote outbox events, so they go out now rather than at the next poll. */
  onOutboxWritten: () => void;
}

export interface VerifiedClaim {
  claimId: string;
  transferredOrderIds: string[];
}

type Tx = Prisma.TransactionClient;


/**
 * Order claiming (design.md §3): open claims by email group, verify a token, expire old claims.
 * Owns the transactions and writes the outbox events; knows nothing of HTTP or GraphQL.
 */
export class ClaimService {
  constructor(private readonly deps: ClaimServiceDeps) {}

  /**
   * Opens one claim per email among the given orders and returns the claim ids. Unknown, canceled
   * and already-own orders are skipped without a word, so the result never tells which ids exist;
   * so are orders whose address has had its hourly share of claim emails (RATE_LIMIT_CLAIM_RECIPIENT).
   * A claimer's pending claims that cover any of the same orders are superseded: the newest wins.
   */
  async claimOrders(customerId: string | undefined, orderIds: readonly string[]): Promise<string[]> {
    const claimer = await this.requireAccount(customerId);
    const ids = this.validateOrderIds(orderIds);
    await this.deps.rateLimiter.take("claimPerCustomer", claimer.id);

    const orders = await this.deps.prisma.order.findMany({
      where: { id: { in: ids }, status: { not: "canceled" }, customer_id: { not: claimer.id } },
      select: { id: true, email: true, display_id: true },
      orderBy: { display_id: "asc" },
    });
    if (orders.length === 0) return [];

    const groups = new Map<string, typeof orders>();
    for (const order of orders) {
      const email = normalizeEmail(order.email);
      groups.set(email, [...(groups.get(email) ?? []), order]);
    }
    for (const email of await this.recipientsOverAllowance([...groups.keys()])) {
      groups.delete(email);
      this.deps.logger.info("claim withheld: the address had its hourly share of claim emails", { recipient: maskEmail(email), claimerId: claimer.id });
    }
    if (groups.size === 0) return [];

    const { superseded, opened } = await this.deps.prisma
      .$transaction(async (tx) => {
        // Serialises a claimer's concurrent requests, so supersession sees every earlier claim.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`order_claim:${claimer.id}`}))`;
        const claimed = [...groups.values()].flat().map((order) => order.id);
        const superseded = await this.supersedePendingClaims(tx, claimer.id, claimed);
        const opened: { claimId: string; recipient: string; orders: number }[] = [];
        for (const [email, group] of groups) {
          opened.push({ claimId: await this.openClaim(tx, claimer.id, email, group), recipient: maskEmail(email), orders: group.length });
        }
        return { superseded, opened };
      })
      .catch(async (error: unknown) => {
        // Nothing was opened, so nothing will be mailed: the allowances go back.
        await Promise.all([...groups.keys()].map((email) => this.deps.rateLimiter.giveBack("claimPerRecipient", email)));
        throw error;
      });
    this.deps.onOutboxWritten();
    if (superseded.length > 0) this.deps.logger.info("claims superseded by a newer request", { claimIds: superseded, claimerId: claimer.id });
    for (const claim of opened) this.deps.logger.info("claim opened", { ...claim, claimerId: claimer.id });
    return opened.map((claim) => claim.claimId);
  }

  /**
   * Moves the claim's still-eligible orders to the claimer and marks it VERIFIED, in one
   * transaction. The conditional status update makes concurrent verifications of one token
   * yield exactly one success.
   */
  async verifyOrderClaim(token: string, clientIp: string): Promise<VerifiedClaim> {
    await this.deps.rateLimiter.take("confirmPerIp", clientIp);
    if (!looksLikeClaimToken(token)) throw new ClaimTokenInvalidError();
    const claim = await this.deps.prisma.orderClaim.findUnique({
      where: { token_hash: hashClaimToken(token) },
      include: { claimer: { select: { email: true, deleted_at: true, has_account: true } } },
    });
    if (!claim) throw new ClaimTokenInvalidError();
    assertVerifiable(claim.status, claim.expires_at);
    if (claim.claimer.deleted_at || !claim.claimer.has_account) throw new ClaimTokenInvalidError();

    const transferredOrderIds = await this.deps.prisma.$transaction(async (tx) => {
      const now = new Date();
      const marked = await tx.orderClaim.updateMany({
        where: { id: claim.id, status: OrderClaimStatus.PENDING, expires_at: { gt: now } },
        data: { status: OrderClaimStatus.VERIFIED, verified_at: now },
      });
      if (marked.count === 0) {
        // Another verification (or the expiry sweep) got there first.
        const current = await tx.orderClaim.findUniqueOrThrow({ where: { id: claim.id }, select: { status: true, expires_at: true } });
        assertVerifiable(current.status, current.expires_at);
        throw new ClaimTokenUsedError();
      }
      const moved = await this.transferOrders(tx, claim.id, claim.claimer_customer_id, claim.recipient_email, claim.claimer.email);
      await enqueueOutboxEvent(tx, ORDER_CLAIM_UPDATED, {
        payload: claimUpdate(claim.id, claim.claimer_customer_id, OrderClaimStatus.VERIFIED, now),
      });
      return moved;
    });
    this.deps.onOutboxWritten();
    this.deps.logger.info("claim verified", { claimId: claim.id, claimerId: claim.claimer_customer_id, ordersMoved: transferredOrderIds.length });
    return { claimId: claim.id, transferredOrderIds };
  }

  /** Marks PENDING claims past their expiry EXPIRED and announces each. Safe on many instances. */
  async expireDueClaims(now = new Date()): Promise<number> {
    const expired = await this.deps.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; claimer_customer_id: string }[]>`
        UPDATE "order_claim" SET "status" = 'EXPIRED', "updated_at" = ${now}
        WHERE "status" = 'PENDING' AND "expires_at" <= ${now}
        RETURNING "id", "claimer_customer_id"`;
      for (const row of rows) {
        await enqueueOutboxEvent(tx, ORDER_CLAIM_UPDATED, {
          payload: claimUpdate(row.id, row.claimer_customer_id, OrderClaimStatus.EXPIRED, now),
        });
      }
      return rows.map((row) => row.id);
    });
    if (expired.length > 0) {
      this.deps.onOutboxWritten();
      this.deps.logger.info("claims expired", { claimIds: expired });
    }
    return expired.length;
  }

  /** How many claims there are in each status (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const groups = await this.deps.prisma.orderClaim.groupBy({ by: ["status"], _count: { _all: true } });
    return Object.fromEntries(groups.map((group) => [group.status, group._count._all]));
  }

  /** Claims by id (those just opened), ordered by recipient. */
  claimsByIds<S extends Selection>(claimIds: string[], selection: S) {
    return this.deps.prisma.orderClaim.findMany({ ...selection, where: { id: { in: claimIds } }, orderBy: { recipient_email: "asc" } });
  }

  claimById<S extends Selection>(claimId: string, selection: S) {
    return this.deps.prisma.orderClaim.findUniqueOrThrow({ ...selection, where: { id: claimId } });
  }

  /**
   * The orders a claim moved: none until it is VERIFIED (before that the claimer does not own
   * them, so nothing about them is told), then those it transferred that the claimer still owns.
   */
  transferredOrders<S extends Selection>(claim: Pick<OrderClaim, "id" | "status" | "claimer_customer_id">, selection: S) {
    if (claim.status !== OrderClaimStatus.VERIFIED) return Promise.resolve([]);
    return this.deps.prisma.order.findMany({
      ...selection,
      where: { customer_id: claim.claimer_customer_id, claim_links: { some: { claim_id: claim.id, transferred_at: { not: null } } } },
      orderBy: { display_id: "asc" },
    });
  }

  /** Takes one claim email from each recipient's hourly allowance, whoever asks; returns those that had none left. */
  private async recipientsOverAllowance(emails: string[]): Promise<string[]> {
    const allowed = await Promise.all(emails.map((email) => this.deps.rateLimiter.tryTake("claimPerRecipient", email)));
    return emails.filter((_email, i) => !allowed[i]);
  }

  private async requireAccount(customerId: string | undefined) {
    if (!customerId) throw new NotAuthenticatedError();
    const customer = await this.deps.prisma.customer.findFirst({
      where: { id: customerId, deleted_at: null },
      select: { id: true, has_account: true },
    });
    if (!customer) throw new NotAuthenticatedError();
    if (!customer.has_account) throw new AccountRequiredError();
    return customer;
  }

  private validateOrderIds(orderIds: readonly string[]): string[] {
    if (orderIds.length === 0) throw new InvalidInputError("orderIds", "must contain at least one order id");
    if (orderIds.some((id) => id.trim() === "")) throw new InvalidInputError("orderIds", "must not contain empty ids");
    if (orderIds.some(hasControlCharacters)) throw new InvalidInputError("orderIds", "must not contain control characters");
    const ids = [...new Set(orderIds)];
    const max = this.deps.config.claimMaxOrders;
    if (ids.length > max) throw new InvalidInputError("orderIds", `must contain at most ${max} order ids (got ${ids.length})`);
    return ids;
  }

  /** Returns the ids of the claims superseded. */
  private async supersedePendingClaims(tx: Tx, claimerId: string, orderIds: string[]): Promise<string[]> {
    const now = new Date();
    const superseded = await tx.$queryRaw<{ id: string }[]>`
      UPDATE "order_claim" SET "status" = 'SUPERSEDED', "updated_at" = ${now}
      WHERE "claimer_customer_id" = ${claimerId} AND "status" = 'PENDING'
        AND "id" IN (SELECT "claim_id" FROM "order_claim_order" WHERE "order_id" = ANY(${orderIds}))
      RETURNING "id"`;
    for (const { id } of superseded) {
      await enqueueOutboxEvent(tx, ORDER_CLAIM_UPDATED, { payload: claimUpdate(id, claimerId, OrderClaimStatus.SUPERSEDED, now) });
    }
    return superseded.map(({ id }) => id);
  }

  /**
   * The claim, its orders and its two outbox events in one statement (the hot path: four inserts
   * were six round trips). PENDING is queued before the email (ids follow the VALUES order), so
   * listeners normally hear of a claim before anyone can confirm it.
   */
  private async openClaim(tx: Tx, claimerId: string, email: string, orders: { id: string; display_id: number }[]): Promise<string> {
    const token = newClaimToken();
    const claimId = newId("oclaim");
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.deps.config.claimTokenTtlMs);
    const pending: OutboxMessages[typeof ORDER_CLAIM_UPDATED] = { payload: claimUpdate(claimId, claimerId, OrderClaimStatus.PENDING, now) };
    const tokenCreated: OutboxMessages[typeof ORDER_UPDATE_TOKEN_CREATED] = {
      payload: {
        claim_id: claimId,
        old_email: email,
        new_customer_id: claimerId,
        orders: orders.map((order) => order.id),
        display_ids: orders.map((order) => order.display_id),
      },
      secret: { token },
    };
    await tx.$executeRaw`
      WITH claim AS (
        INSERT INTO "order_claim" ("id", "claimer_customer_id", "recipient_email", "status", "token_hash", "expires_at", "created_at", "updated_at")
        VALUES (${claimId}, ${claimerId}, ${email}, 'PENDING', ${hashClaimToken(token)}, ${expiresAt}, ${now}, ${now})
        RETURNING "id"),
      links AS (
        INSERT INTO "order_claim_order" ("claim_id", "order_id")
        SELECT claim."id", unnest(${orders.map((order) => order.id)}::varchar[]) FROM claim)
      INSERT INTO "outbox_event" ("topic", "payload", "secret")
      VALUES (${ORDER_CLAIM_UPDATED}, ${JSON.stringify(pending.payload)}::jsonb, NULL),
             (${ORDER_UPDATE_TOKEN_CREATED}, ${JSON.stringify(tokenCreated.payload)}::jsonb, ${JSON.stringify(tokenCreated.secret)}::jsonb)`;
    return claimId;
  }

  /** Moves the claim's orders whose email still matches and that are not canceled. */
  private async transferOrders(tx: Tx, claimId: string, claimerId: string, recipientEmail: string, claimerEmail: string): Promise<string[]> {
    const newEmail = this.deps.config.claimReplaceOrderEmail ? claimerEmail : null;
    const moved = await tx.$queryRaw<{ id: string }[]>`
      UPDATE "order" AS o
      SET "customer_id" = ${claimerId}, "email" = COALESCE(${newEmail}::varchar, o."email"), "updated_at" = now()
      FROM "order_claim_order" AS link
      WHERE link."claim_id" = ${claimId} AND link."order_id" = o."id"
        AND lower(btrim(o."email")) = ${recipientEmail} AND o."status" <> 'canceled'
      RETURNING o."id"`;
    const ids = moved.map((row) => row.id);
    if (ids.length > 0) {
      await tx.orderClaimOrder.updateMany({ where: { claim_id: claimId, order_id: { in: ids } }, data: { transferred_at: new Date() } });
    }
    return ids.sort();
  }
}

function assertVerifiable(status: OrderClaimStatus, expiresAt: Date): void {
  if (status === OrderClaimStatus.VERIFIED) throw new ClaimTokenUsedError();
  if (status === OrderClaimStatus.EXPIRED) throw new ClaimTokenExpiredError();
  if (status !== OrderClaimStatus.PENDING) throw new ClaimTokenInvalidError();
  if (expiresAt.getTime() <= Date.now()) throw new ClaimTokenExpiredError();
}

function claimUpdate(claimId: string, claimerCustomerId: string, status: OrderClaimStatus, at: Date) {
  return { claimId, claimerCustomerId, status, at: at.toISOString() };
}
