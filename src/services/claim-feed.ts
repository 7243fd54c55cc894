import { Repeater } from "graphql-yoga";
import type { Db } from "../db/database";
import type { OrderClaim } from "../db/generated/prisma/client";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import { deadline } from "../domain/deadline";
import { hasControlCharacters } from "../domain/email";
import { ClaimNotFoundError, NotAuthenticatedError, SignInExpiredError } from "../domain/errors";
import type { EventBus } from "../events/event-bus";

export interface WatchClaimsOptions {
  /** Only this claim: its current state comes first, and the stream ends once it is final. */
  claimId?: string;
  /** When the subscriber's sign-in runs out: the stream then fails with SignInExpiredError. */
  signedInUntil?: Date;
  /**
   * The session that signed the subscriber in, if one did: signing it out fails the stream with
   * NotAuthenticatedError.
   */
  sessionId?: string;
}

/**
 * After a broker outage, claims changed since this long before the stream (or its last catch-up)
 * are read again: the margin covers clock skew between instances.
 */
const CATCH_UP_MARGIN_MS = 60_000;

/** PENDING is the only status that still changes. */
const isFinal = (status: OrderClaimStatus) => status !== OrderClaimStatus.PENDING;

/**
 * The live view of a customer's claims behind `orderClaimUpdated`: fed by the event bus, checked
 * against the database.
 */
export class ClaimFeed {
  constructor(private readonly deps: { prisma: Db; events: EventBus }) {}

  /**
   * A customer's claims, each time one changes status (on any instance): the claim as that change
   * left it. Each status is sent at most once per claim and never after a final one, however late
   * or often its event arrives. After a broker outage the claims changed meanwhile are read again,
   * so a stream misses no final state. Ends when the event bus ends its subscriptions (shutdown).
   */
  watch(customerId: string, options: WatchClaimsOptions = {}): Repeater<OrderClaim> {
    const { prisma, events } = this.deps;
    const { claimId, signedInUntil, sessionId } = options;
    const ownClaims = { claimer_customer_id: customerId, ...(claimId === undefined ? {} : { id: claimId }) };
    // A Repeater, not an async generator: `return()` must end a stream that is waiting for an event.
    return new Repeater<OrderClaim>(async (push, stop) => {
      const updates = events.claimUpdates(customerId);
      void stop.then(() => updates.return()).catch(() => {});
      /** Why the sign-in ended (expired, signed out), once it has: the stream then fails with it. */
      let signedOut: NotAuthenticatedError | undefined;
      const endWhen = (ended: Promise<void> | undefined, error: () => NotAuthenticatedError) =>
        void ended
          ?.then(() => {
            signedOut ??= error();
            return updates.return();
          })
          .catch(() => {});
      const expiry = signedInUntil ? deadline(signedInUntil) : undefined;
      endWhen(expiry?.reached, () => new SignInExpiredError());
      const sessionEnd = sessionId ? events.sessionEnd(sessionId) : undefined;
      endWhen(
        sessionEnd?.ended,
        () => new NotAuthenticatedError("You signed out. Sign in again to keep following your claims."),
      );
      /** Per claim id, the status the subscriber has: the last one pushed, or known before the stream. */
      const sentStatus = new Map<string, OrderClaimStatus>();
      /** Pushes the claim unless this status (or a final one) was sent already; true once a followed claim is final. */
      const pushIfNew = async (claim: OrderClaim) => {
        const previous = sentStatus.get(claim.id);
        if (previous === claim.status || (previous && isFinal(previous))) return false;
        sentStatus.set(claim.id, claim.status);
        await push(claim);
        return claimId !== undefined && isFinal(claim.status);
      };
      let caughtUpTo = new Date(Date.now() - CATCH_UP_MARGIN_MS);
      try {
        // Listening starts before the current state is read, so no change falls in between.
        const first = updates.next();
        if (claimId !== undefined) {
          // No id holds a control character (and PostgreSQL refuses a NUL outright).
          const claim = hasControlCharacters(claimId) ? null : await prisma.orderClaim.findFirst({ where: ownClaims });
          if (!claim) throw new ClaimNotFoundError();
          if (await pushIfNew(claim)) return;
        } else {
          // What the subscriber is taken to know already: the recent claims as they are now. A
          // catch-up then sends what changed after, not what happened before the stream began.
          const known = await prisma.orderClaim.findMany({
            where: { ...ownClaims, updated_at: { gte: caughtUpTo } },
            select: { id: true, status: true },
          });
          for (const claim of known) sentStatus.set(claim.id, claim.status);
        }
        for (let message = await first; !message.done; message = await updates.next()) {
          let claims: OrderClaim[];
          if (message.value.kind === "resync") {
            const since = caughtUpTo;
            caughtUpTo = new Date(Date.now() - CATCH_UP_MARGIN_MS);
            claims = await prisma.orderClaim.findMany({
              where: { ...ownClaims, updated_at: { gte: since } },
              orderBy: { updated_at: "asc" },
            });
          } else {
            const { update } = message.value;
            const claim =
              claimId === undefined || update.claimId === claimId
                ? await prisma.orderClaim.findFirst({ where: { ...ownClaims, id: update.claimId } })
                : null;
            // The claim as this change left it: a later change may already be in the row.
            claims = claim ? [asOfUpdate(claim, update.status)] : [];
          }
          for (const claim of claims) if (await pushIfNew(claim)) return;
        }
        if (signedOut) throw signedOut;
      } finally {
        expiry?.cancel();
        sessionEnd?.cancel();
        stop();
        await updates.return();
      }
    });
  }
}

/** A claim row seen through an older status change: the status then, verified only if it was. */
function asOfUpdate(claim: OrderClaim, status: OrderClaimStatus): OrderClaim {
  return claim.status === status
    ? claim
    : { ...claim, status, verified_at: status === OrderClaimStatus.VERIFIED ? claim.verified_at : null };
}
