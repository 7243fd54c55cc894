// The claim lifecycle's writes (open by ids or by email, verify, decline, cancel, expire) and the
// rules that read their results, in one service: each is one hand-written statement on the hot
// path, kept beside the code that interprets its rows. That is why this file is longer than most.
import type { Config } from "../config";
import { BATCHES_IN_FLIGHT, type Db, Prisma } from "../db/database";
import type { SqlRows } from "../db/sql";
import type { OrderClaim } from "../db/generated/prisma/client";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import { claimStatusAt, movedOrdersStillOwned } from "../domain/claim-status";
import { hashClaimToken, looksLikeClaimToken, newClaimToken } from "../domain/claim-token";
import {
  EMAIL_SEARCH_KEY_SQL,
  emailSearchKey,
  hasControlCharacters,
  isEmail,
  maskEmail,
  normalizeEmail,
} from "../domain/email";
import {
  AccountRequiredError,
  ClaimNotFoundError,
  ClaimNotPendingError,
  ClaimTokenExpiredError,
  ClaimTokenInvalidError,
  ClaimTokenUsedError,
  InvalidInputError,
  NotAuthenticatedError,
} from "../domain/errors";
import { newId } from "../domain/ids";
import { enqueueOutboxEvent } from "../events/outbox";
import { grouped } from "../lib/grouped";
import {
  ORDER_CLAIM_CANCELED,
  ORDER_CLAIM_DECLINED,
  ORDER_CLAIM_UPDATED,
  ORDER_UPDATE_TOKEN_CREATED,
  type OutboxMessages,
  type OutboxTopic,
} from "../events/topics";
import type { Logger } from "../lib/logger";
import type { RateLimiter } from "./rate-limiter";
import { type Allowance, RecipientAllowances } from "./recipient-allowances";
import type { Selection } from "./selection";

export interface ClaimServiceDeps {
  prisma: Db;
  /** The claim and verification batches' statements, without Prisma's engine (src/db/sql.ts). */
  sql: SqlRows;
  config: Pick<Config, "claimTokenTtlMs" | "claimMaxOrders" | "claimReplaceOrderEmail">;
  rateLimiter: RateLimiter;
  logger: Logger;
}

export interface VerifiedClaim {
  claimId: string;
  transferredOrderIds: string[];
}

/** A claim as `claimOrders` wrote it, with its order count (what GraphQL's OrderClaim shows of it). */
export type OpenedClaim = OrderClaim & { _count: { orders: number } };

/** An outbox event as the claim statements write it (see enqueueOutboxEvent). */
type OutboxEventInput = { [T in OutboxTopic]: { topic: T } & OutboxMessages[T] }[OutboxTopic];

/** An order as the claim read it: its email as it was then is what confirmation compares with. */
interface ClaimableOrder {
  id: string;
  email: string;
  display_id: number;
}

interface NewClaim {
  id: string;
  byEmail: boolean;
  recipientEmail: string;
  tokenHash: string;
  expiresAt: Date;
  orders: ClaimableOrder[];
  events: OutboxEventInput[];
}

/** One request's arguments of `open_order_claims`, as `open_order_claims_batch` takes them. */
interface ClaimWrite {
  claimer_id: string;
  now: string;
  /** Every order being claimed: the claimer's pending claims that cover any are superseded. */
  order_ids: string[];
  superseded_event: OutboxEventInput;
  claims: {
    id: string;
    by_email: boolean;
    recipient_email: string;
    token_hash: string;
    expires_at: Date;
    orders: { id: string; email: string }[];
  }[];
  events: OutboxEventInput[];
}

/** What a batch did for one request: the claims it superseded, or why it wrote nothing. */
interface ClaimWriteOutcome {
  superseded_claim_ids: string[];
  failure: string | null;
}

/**
 * A request of a batch that lost a deadlock (40P01) or a serialization conflict (40001) to another
 * transaction: written again, alone. Anything else fails the request.
 */
const RETRY_ALONE = /^40(P01|001) /;

/** A claim that a decline or cancel found (locked), and whether it ended it. */
interface EndingRow {
  id: string;
  status: OrderClaimStatus;
  expires_at: Date;
  ended: boolean;
}

/**
 * The claim a token names as the verification found it (all null when no claim has that token),
 * and what the verification did, or why it did nothing (`failure`).
 */
interface VerificationRow {
  id: string | null;
  status: OrderClaimStatus;
  expires_at: Date;
  claimer_customer_id: string;
  claimer_can_claim: boolean;
  /** After waiting for the claim's row lock; null when the claimer cannot claim (nothing locked). */
  current_status: OrderClaimStatus | null;
  current_expires_at: Date | null;
  verified: boolean;
  moved_order_ids: string[];
  failure: string | null;
}

/** A batch's answer for a token it gave none: a failure, never a verification. */
const NO_VERIFICATION = { failure: "no answer" } as VerificationRow;

/**
 * Order claiming (design.md §3): open claims by email group, verify a token, expire old claims.
 * Owns the transactions and writes the outbox events; knows nothing of HTTP or GraphQL.
 */
export class ClaimService {
  private readonly recipientAllowances: RecipientAllowances;

  constructor(private readonly deps: ClaimServiceDeps) {
    this.recipientAllowances = new RecipientAllowances(deps);
  }

  /**
   * Opens one claim per email among the given orders and returns them. Unknown and canceled
   * orders, the claimer's own and orders in another customer's account (design.md §3, "Whose
   * orders can be claimed") are skipped without a word, so the result never tells which ids
   * exist. When an address has had its hourly share of claim emails (from this claimer, or from
   * everyone together), nothing is opened: ClaimEmailsWithheldError. A claimer's pending claims
   * that cover any of the same orders are superseded: the newest wins. The claimer is signed in:
   * the GraphQL field requires it (scope `signedIn`), and nothing else calls this.
   */
  async claimOrders(customerId: string, orderIds: readonly string[]): Promise<OpenedClaim[]> {
    const ids = this.validateOrderIds(orderIds);
    const read = await this.claimableOrdersById({ customerId, orderIds: ids });
    if ("error" in read) throw read.error;
    const { orders } = read;
    await this.deps.rateLimiter.take("claimPerCustomer", customerId);
    if (orders.length === 0) return [];

    const groups = new Map<string, typeof orders>();
    for (const order of orders) {
      const email = normalizeEmail(order.email);
      groups.set(email, [...(groups.get(email) ?? []), order]);
    }
    const allowances = await this.recipientAllowances.take(customerId, [...groups.keys()]);
    const now = new Date();
    const claims = [...groups].map(([email, group]) => this.newClaim(customerId, email, group, now, false));
    return this.open(customerId, claims, allowances, now);
  }

  /**
   * Opens a claim of every claimable order placed under `email` (the newest CLAIM_MAX_ORDERS of
   * them; the same orders claimOrders would take), for a claimer who knows no order id. The answer
   * is the same whether or not there is any: one PENDING claim, showing no order count until it is
   * VERIFIED (visibleOrderCount), the address's allowances taken either way; only an address with
   * orders gets an email. Supersedes the claimer's pending claims to the same address.
   */
  async claimOrdersByEmail(customerId: string, email: string): Promise<OpenedClaim[]> {
    const recipient = normalizeEmail(email);
    if (!isEmail(recipient)) throw new InvalidInputError("email", "must be an email");
    // SQL narrows the orders by a locale-free key of the address; the gateway compares the one normalised form.
    const { from, to, dropPattern } = EMAIL_SEARCH_KEY_SQL;
    const candidates = await this.claimableOrders(
      customerId,
      Prisma.sql`regexp_replace(translate(o."email", ${from}, ${to}), ${dropPattern}, '', 'g')
                 = ${emailSearchKey(recipient)}`,
    );
    const orders = candidates
      .filter((order) => normalizeEmail(order.email) === recipient)
      .slice(-this.deps.config.claimMaxOrders);
    await this.deps.rateLimiter.take("claimPerCustomer", customerId);
    const allowances = await this.recipientAllowances.take(customerId, [recipient]);
    const now = new Date();
    return this.open(customerId, [this.newClaim(customerId, recipient, orders, now, true)], allowances, now);
  }

  /**
   * Moves the claim's still-eligible orders to the claimer and marks it VERIFIED, in one
   * statement (the confirm hot path), shared with the verifications that arrive while one is in
   * flight. The conditional status update makes concurrent verifications of one token yield
   * exactly one success: the others wait for its row lock and then find it no longer PENDING.
   */
  async verifyOrderClaim(token: string, clientIp: string): Promise<VerifiedClaim> {
    await this.deps.rateLimiter.take("confirmPerIp", clientIp);
    if (!looksLikeClaimToken(token)) throw new ClaimTokenInvalidError();
    const tokenHash = hashClaimToken(token);
    let claim = await this.verifyTogether(tokenHash);
    if (claim.failure !== null && RETRY_ALONE.test(claim.failure)) claim = (await this.verifyBatch([tokenHash]))[0]!;
    if (claim.failure !== null) throw new Error(`the claim could not be verified: ${claim.failure}`);
    if (claim.id === null) throw new ClaimTokenInvalidError();
    if (!claim.verified) {
      assertVerifiable(claim.status, claim.expires_at);
      if (!claim.claimer_can_claim) throw new ClaimTokenInvalidError();
      // It was PENDING when the statement began: another verification (or the expiry sweep, or
      // a newer claim) changed it while this one waited for its row.
      assertVerifiable(claim.current_status!, claim.current_expires_at!);
      throw new ClaimTokenUsedError();
    }
    this.deps.logger.info("claim verified", {
      claimId: claim.id,
      claimerId: claim.claimer_customer_id,
      ordersMoved: claim.moved_order_ids.length,
    });
    return { claimId: claim.id, transferredOrderIds: claim.moved_order_ids };
  }

  private readonly verifyTogether = grouped((tokenHashes: string[]) => this.verifyBatch(tokenHashes), {
    inFlight: BATCHES_IN_FLIGHT,
  });

  /**
   * Verifies the tokens (by hash) in order, each in a subtransaction of its own, in one statement
   * and one commit (`verify_order_claims`, a migration's function).
   */
  private async verifyBatch(tokenHashes: string[]): Promise<VerificationRow[]> {
    const now = new Date();
    const verified = { topic: ORDER_CLAIM_UPDATED, payload: claimUpdate("", "", OrderClaimStatus.VERIFIED, now) };
    const rows = await this.deps.sql<VerificationRow & { request: number }>(Prisma.sql`
      SELECT * FROM "ordergate"."verify_order_claims"(${now}::timestamptz, ${this.deps.config.claimReplaceOrderEmail},
        ${JSON.stringify(verified)}::jsonb, ${tokenHashes}::varchar[])`);
    return tokenHashes.map((_, index) => rows.find((row) => row.request === index) ?? NO_VERIFICATION);
  }

  /**
   * The recipient declines a claim with its emailed token: it becomes DECLINED and its token
   * works no more (for verifying or declining). Counts against the same per-address limit as
   * verification (both try tokens). Concurrent with a verification, exactly one of them wins.
   */
  async declineOrderClaim(token: string, clientIp: string): Promise<{ claimId: string }> {
    await this.deps.rateLimiter.take("confirmPerIp", clientIp);
    if (!looksLikeClaimToken(token)) throw new ClaimTokenInvalidError();
    const where = Prisma.sql`c."token_hash" = ${hashClaimToken(token)}`;
    const claim = await this.endPendingClaim(where, OrderClaimStatus.DECLINED, ORDER_CLAIM_DECLINED);
    if (!claim) throw new ClaimTokenInvalidError();
    if (!claim.ended) {
      assertVerifiable(claim.status, claim.expires_at);
      throw new ClaimTokenInvalidError();
    }
    this.deps.logger.info("claim declined", { claimId: claim.id });
    return { claimId: claim.id };
  }

  /**
   * The claimer withdraws a PENDING claim: CANCELED, its token works no more. Another customer's
   * claim or an unknown id is ClaimNotFoundError (they are not told apart); a claim that already
   * ended otherwise is ClaimNotPendingError. Canceling a canceled claim succeeds again.
   */
  async cancelOrderClaim(customerId: string, claimId: string): Promise<{ claimId: string }> {
    // No id holds one (and PostgreSQL refuses a NUL outright).
    if (hasControlCharacters(claimId)) throw new ClaimNotFoundError();
    const where = Prisma.sql`c."id" = ${claimId} AND c."claimer_customer_id" = ${customerId}`;
    const claim = await this.endPendingClaim(where, OrderClaimStatus.CANCELED, ORDER_CLAIM_CANCELED);
    if (!claim) throw new ClaimNotFoundError();
    if (!claim.ended && claim.status !== OrderClaimStatus.CANCELED) {
      throw new ClaimNotPendingError(claimStatusAt({ status: claim.status, expiresAt: claim.expires_at }, new Date()));
    }
    if (claim.ended) this.deps.logger.info("claim canceled", { claimId: claim.id, claimerId: customerId });
    return { claimId: claim.id };
  }

  /** Marks PENDING claims past their expiry EXPIRED and announces each. Safe on many instances. */
  async expireDueClaims(now = new Date()): Promise<number> {
    const expired = await this.deps.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; claimer_customer_id: string }[]>`
        UPDATE "ordergate"."order_claim" SET "status" = 'EXPIRED', "updated_at" = ${now}
        WHERE "status" = 'PENDING' AND "expires_at" <= ${now}
        RETURNING "id", "claimer_customer_id"`;
      for (const row of rows) {
        await enqueueOutboxEvent(tx, ORDER_CLAIM_UPDATED, {
          payload: claimUpdate(row.id, row.claimer_customer_id, OrderClaimStatus.EXPIRED, now),
        });
      }
      return rows.map((row) => row.id);
    });
    if (expired.length > 0) this.deps.logger.info("claims expired", { claimIds: expired });
    return expired.length;
  }

  /** How many claims there are in each status (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const groups = await this.deps.prisma.orderClaim.groupBy({ by: ["status"], _count: { _all: true } });
    return Object.fromEntries(groups.map((group) => [group.status, group._count._all]));
  }

  claimById<S extends Selection>(claimId: string, selection: S) {
    return this.deps.prisma.orderClaim.findUniqueOrThrow({ ...selection, where: { id: claimId } });
  }

  /** The orders a claim moved, as its claimer sees them (movedOrdersStillOwned): none before VERIFIED. */
  transferredOrders<S extends Selection>(
    claim: Pick<OrderClaim, "id" | "status" | "claimer_customer_id">,
    selection: S,
  ) {
    if (claim.status !== OrderClaimStatus.VERIFIED) return Promise.resolve([]);
    return this.deps.prisma.order.findMany({
      ...selection,
      where: movedOrdersStillOwned(claim),
      orderBy: { display_id: "asc" },
    });
  }

  /**
   * Of the orders `which` picks (a condition on `o`), those the customer may claim, oldest first,
   * read with its account in one statement: refuses a customer who is gone or has no account.
   */
  private async claimableOrders(customerId: string, which: Prisma.Sql) {
    const rows = await this.deps.prisma.$queryRaw<ClaimableRow[]>`
      SELECT c."has_account", o."id", o."email", o."display_id"
      FROM "public"."customer" AS c
      LEFT JOIN "public"."order" AS o ON ${which} AND ${CLAIMABLE_BY_C}
      WHERE c."id" = ${customerId} AND c."deleted_at" IS NULL
      ORDER BY o."display_id"`;
    return claimableOf(rows);
  }

  /**
   * claimableOrders of the orders with these ids. Requests that come while a read is in flight
   * go together, in one statement.
   */
  private claimableOrdersById = grouped(
    async (asks: { customerId: string; orderIds: string[] }[]) => {
      // A function (a migration's), so that its plan is generic: as a prepared statement,
      // PostgreSQL planned it again for every batch.
      const rows = await this.deps.sql<ClaimableRow & { request: bigint }>(Prisma.sql`
      SELECT "request", "has_account", "id", "email", "display_id"
      FROM "ordergate"."claimable_orders"(${asks.map((ask) => ask.customerId)}::varchar[],
        ${asks.flatMap((ask, index) => ask.orderIds.map(() => index + 1))}::int[], ${asks.flatMap((ask) => ask.orderIds)}::varchar[])`);
      const byRequest = asks.map((): ClaimableRow[] => []);
      for (const row of rows) byRequest[Number(row.request) - 1]!.push(row);
      // Settled one by one: a customer who is gone fails their own request, not the others'.
      return byRequest.map((requestRows) => {
        try {
          return { orders: claimableOf(requestRows) };
        } catch (error) {
          return { error };
        }
      });
    },
    { inFlight: BATCHES_IN_FLIGHT },
  );

  /**
   * Ends the PENDING, unexpired claim `where` picks (a condition on `c`) with `status`, announcing
   * it under `topic`, in one statement. The row is locked first, so a concurrent verification,
   * decline or cancel waits and then finds the status this one left. Returns the claim as it was
   * once locked, or undefined when `where` picks none.
   */
  private async endPendingClaim(
    where: Prisma.Sql,
    status: typeof OrderClaimStatus.DECLINED | typeof OrderClaimStatus.CANCELED,
    topic: typeof ORDER_CLAIM_DECLINED | typeof ORDER_CLAIM_CANCELED,
  ): Promise<EndingRow | undefined> {
    const now = new Date();
    const [claim] = await this.deps.prisma.$queryRaw<EndingRow[]>`
      WITH target AS (
        SELECT c."id", c."status", c."expires_at" FROM "ordergate"."order_claim" AS c WHERE ${where} FOR UPDATE),
      ended AS (
        UPDATE "ordergate"."order_claim" AS c
        SET "status" = ${status}::"ordergate"."order_claim_status", "updated_at" = ${now}
        FROM target
        WHERE c."id" = target."id" AND target."status" = 'PENDING' AND target."expires_at" > ${now}
        RETURNING c."id", c."claimer_customer_id"),
      announced AS (
        INSERT INTO "ordergate"."outbox_event" ("topic", "payload")
        SELECT ${topic}, ${JSON.stringify(claimUpdate("", "", status, now))}::jsonb
               || jsonb_build_object('claimId', ended."id", 'claimerCustomerId', ended."claimer_customer_id")
        FROM ended)
      SELECT target."id", target."status", target."expires_at", EXISTS (SELECT FROM ended) AS "ended" FROM target`;
    return claim;
  }

  private validateOrderIds(orderIds: readonly string[]): string[] {
    if (orderIds.length === 0) throw new InvalidInputError("orderIds", "must contain at least one order id");
    if (orderIds.some((id) => id.trim() === "")) throw new InvalidInputError("orderIds", "must not contain empty ids");
    if (orderIds.some(hasControlCharacters))
      throw new InvalidInputError("orderIds", "must not contain control characters");
    const ids = [...new Set(orderIds)];
    const max = this.deps.config.claimMaxOrders;
    if (ids.length > max)
      throw new InvalidInputError("orderIds", `must contain at most ${max} order ids (got ${ids.length})`);
    return ids;
  }

  /**
   * A claim for one address's orders: its token (for the email only) and its outbox events. A
   * claim by email of an address without orders gets a token too (never sent) and no email.
   */
  private newClaim(claimerId: string, email: string, orders: ClaimableOrder[], now: Date, byEmail: boolean): NewClaim {
    const token = newClaimToken();
    const id = newId("oclaim");
    const tokenCreated: OutboxMessages[typeof ORDER_UPDATE_TOKEN_CREATED] = {
      payload: {
        claim_id: id,
        old_email: email,
        new_customer_id: claimerId,
        orders: orders.map((order) => order.id),
        display_ids: orders.map((order) => order.display_id),
      },
      secret: { token },
    };
    return {
      id,
      byEmail,
      recipientEmail: email,
      tokenHash: hashClaimToken(token),
      expiresAt: new Date(now.getTime() + this.deps.config.claimTokenTtlMs),
      orders,
      // PENDING is queued before the email, so listeners normally hear of a claim before anyone can confirm it.
      events: [
        { topic: ORDER_CLAIM_UPDATED, payload: claimUpdate(id, claimerId, OrderClaimStatus.PENDING, now) },
        ...(orders.length > 0 ? [{ topic: ORDER_UPDATE_TOKEN_CREATED, ...tokenCreated } as const] : []),
      ],
    };
  }

  /** Writes the claims (giving the allowances back if that fails), logs them and returns them as written. */
  private async open(customerId: string, claims: NewClaim[], allowances: Allowance[], now: Date) {
    const superseded = await this.writeClaims(customerId, claims, now).catch(async (error: unknown) => {
      // Nothing was opened, so nothing will be mailed: the allowances go back.
      await this.recipientAllowances.giveBack(allowances);
      throw error;
    });
    if (superseded.length > 0)
      this.deps.logger.info("claims superseded by a newer request", { claimIds: superseded, claimerId: customerId });
    for (const claim of claims) {
      this.deps.logger.info("claim opened", {
        claimId: claim.id,
        recipient: maskEmail(claim.recipientEmail),
        // Not for a claim by email: whether the address has orders stays out of the logs too.
        ...(claim.byEmail ? { byEmail: true } : { orders: claim.orders.length }),
        claimerId: customerId,
      });
    }
    // The rows as written, by recipient: a client's selection of them costs no second read.
    return claims
      .map((claim): OpenedClaim => ({
        id: claim.id,
        claimer_customer_id: customerId,
        recipient_email: claim.recipientEmail,
        status: OrderClaimStatus.PENDING,
        token_hash: claim.tokenHash,
        expires_at: claim.expiresAt,
        verified_at: null,
        by_email: claim.byEmail,
        created_at: now,
        updated_at: now,
        _count: { orders: claim.orders.length },
      }))
      .sort((a, b) => (a.recipient_email < b.recipient_email ? -1 : a.recipient_email > b.recipient_email ? 1 : 0));
  }

  /**
   * Writes the claims, their order links and events, superseding the claimer's pending claims
   * that cover any of the same orders (`open_order_claims`, a migration's function: the lock and
   * the supersede must run in separate snapshots). Requests that come while a write is in flight
   * go together in one statement (`open_order_claims_batch`); a request that a deadlock with
   * another batch failed is written again on its own. Returns the ids of the claims superseded.
   */
  private async writeClaims(claimerId: string, claims: NewClaim[], now: Date): Promise<string[]> {
    const write: ClaimWrite = {
      claimer_id: claimerId,
      now: now.toISOString(),
      order_ids: claims.flatMap((claim) => claim.orders.map((order) => order.id)),
      superseded_event: {
        topic: ORDER_CLAIM_UPDATED,
        payload: claimUpdate("", claimerId, OrderClaimStatus.SUPERSEDED, now),
      },
      claims: claims.map(({ id, byEmail, recipientEmail, tokenHash, expiresAt, orders }) => ({
        id,
        by_email: byEmail,
        recipient_email: recipientEmail,
        token_hash: tokenHash,
        expires_at: expiresAt,
        orders: orders.map((order) => ({ id: order.id, email: order.email })),
      })),
      events: claims.flatMap((claim) => claim.events),
    };
    let outcome = await this.writeTogether(write);
    if (outcome.failure !== null && RETRY_ALONE.test(outcome.failure))
      outcome = (await this.writeClaimBatch([write]))[0]!;
    if (outcome.failure !== null) throw new Error(`the claims could not be written: ${outcome.failure}`);
    return outcome.superseded_claim_ids;
  }

  private readonly writeTogether = grouped((writes: ClaimWrite[]) => this.writeClaimBatch(writes), {
    inFlight: BATCHES_IN_FLIGHT,
    // A claimer's requests are written in the order they came: a later one supersedes the earlier.
    keyOf: (write) => write.claimer_id,
  });

  /** Writes each request in its own subtransaction, in order, in one statement and one commit. */
  private async writeClaimBatch(writes: ClaimWrite[]): Promise<ClaimWriteOutcome[]> {
    const rows = await this.deps.sql<ClaimWriteOutcome & { request: number }>(Prisma.sql`
      SELECT "request", "superseded_claim_ids", "failure"
      FROM "ordergate"."open_order_claims_batch"(${JSON.stringify(writes)}::jsonb)`);
    const byRequest = new Map(rows.map((row) => [row.request, row]));
    return writes.map((_, index) => byRequest.get(index) ?? { superseded_claim_ids: [], failure: "no answer" });
  }
}

/** An order a claim might take, read with its would-be claimer's account (no order: nulls). */
interface ClaimableRow {
  has_account: boolean;
  id: string | null;
  email: string;
  display_id: number;
}

/**
 * The orders (aliased `o`) a customer (aliased `c`) may claim: not canceled, not their own, and in
 * no account (design.md §3, "Whose orders can be claimed"). The claim by ids reads them with the
 * same rule in SQL (`claimable_orders`, a migration's function).
 */
const CLAIMABLE_BY_C = Prisma.sql`o."status" <> 'canceled' AND o."customer_id" <> c."id"
  AND NOT EXISTS (SELECT FROM "public"."customer" AS owner WHERE owner."id" = o."customer_id" AND owner."has_account")`;

/** The orders of a customer's rows; refuses a customer who is gone (no row) or has no account. */
function claimableOf(rows: ClaimableRow[]): ClaimableOrder[] {
  if (rows.length === 0) throw new NotAuthenticatedError();
  if (!rows[0]!.has_account) throw new AccountRequiredError();
  return rows.flatMap(({ id, email, display_id }) => (id === null ? [] : [{ id, email, display_id }]));
}

/** Throws the error a token of a claim in this state gets; returns for a live PENDING claim. */
function assertVerifiable(status: OrderClaimStatus, expiresAt: Date): void {
  const now = claimStatusAt({ status, expiresAt }, new Date());
  if (now === OrderClaimStatus.VERIFIED || now === OrderClaimStatus.DECLINED) throw new ClaimTokenUsedError();
  if (now === OrderClaimStatus.EXPIRED) throw new ClaimTokenExpiredError();
  if (now !== OrderClaimStatus.PENDING) throw new ClaimTokenInvalidError();
}

function claimUpdate(claimId: string, claimerCustomerId: string, status: OrderClaimStatus, at: Date) {
  return { claimId, claimerCustomerId, status, at: at.toISOString() };
}
