import { Prisma } from "../db/database";
import type { SqlRows } from "../db/sql";
import type { OutboxHandler } from "../events/topics";
import type { OrderClaimStatus } from "../db/generated/prisma/enums";
import { claimStatusAt } from "../domain/claim-status";
import { BACKGROUND_GATHER_MS, grouped } from "../lib/grouped";
import { maskEmail } from "../domain/email";
import { ORDER_UPDATE_TOKEN_CREATED } from "../events/topics";
import type { Logger } from "../lib/logger";
import { claimEmail } from "./claim-email";
import type { Mailer } from "./mailer";

/**
 * The claim email's key (its Message-ID's left part, see MailMessage): the outbox event's id, so a
 * redelivery after a crash carries the same Message-ID, and the claim's id, random, so that two
 * databases (a reset one, staging beside production) never give two different emails the same
 * Message-ID, which some providers would drop as a duplicate.
 */
export const claimEmailKey = (eventId: bigint, claimId: string): string => `ordergate.${eventId}.${claimId}`;

/** A claim as its email needs it: still pending, and who asked. */
interface ClaimToMail {
  id: string;
  status: OrderClaimStatus;
  expires_at: Date;
  claimer_email: string;
  claimer_created_at: Date;
}

/**
 * Delivers `order-update-token.created`: mails the token to the orders' address. A claim no longer
 * PENDING (verified, expired, superseded) gets no email: its token could not be used anyway.
 */
export function claimTokenNotifier(deps: {
  /** Its read runs for every email: without Prisma's engine. */
  sql: SqlRows;
  mailer: Mailer;
  /**
   * The link's template (claimConfirmUrlTemplate), asked per email: the default depends on where
   * the server listens.
   */
  confirmUrlTemplate: () => string;
  /** Whether the link opens ordergate's own confirm page, which has a Decline button (no CLAIM_CONFIRM_URL). */
  linkOffersDecline: boolean;
  logger: Logger;
  /** Hears whether each email was handed over or refused by the transport (metrics). */
  onMail: (outcome: "sent" | "failed") => void;
}): OutboxHandler<typeof ORDER_UPDATE_TOKEN_CREATED> {
  // The claims of emails that go out together, in one statement. From the ids asked for, so that
  // the plan looks each claimer up by key rather than hashing the whole customer table.
  const readClaims = grouped(
    async (claimIds: string[]) => {
      const rows = await deps.sql<ClaimToMail>(Prisma.sql`
      SELECT c."id", c."status"::text AS "status", c."expires_at", claimer."email" AS "claimer_email",
             claimer."created_at" AS "claimer_created_at"
      FROM unnest(${claimIds}::varchar[]) AS asked("id")
      JOIN "ordergate"."order_claim" AS c ON c."id" = asked."id"
      JOIN "public"."customer" AS claimer ON claimer."id" = c."claimer_customer_id"`);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return claimIds.map((id) => byId.get(id));
    },
    { gatherMs: BACKGROUND_GATHER_MS },
  );
  return async ({ id, payload, secret }) => {
    // The asking account as it is now: the email names it in full, with its age.
    const claim = await readClaims(payload.claim_id);
    const pending = claim && claimStatusAt({ status: claim.status, expiresAt: claim.expires_at }, new Date());
    if (!secret || !claim || pending !== "PENDING") {
      deps.logger.info("claim email dropped: the claim is no longer pending", {
        claimId: payload.claim_id,
        outboxEventId: String(id),
      });
      return;
    }
    const email = claimEmail({
      to: payload.old_email,
      token: secret.token,
      displayIds: payload.display_ids,
      claimer: { email: claim.claimer_email, createdAt: claim.claimer_created_at },
      confirmUrlTemplate: deps.confirmUrlTemplate(),
      linkOffersDecline: deps.linkOffersDecline,
      expiresAt: claim.expires_at,
      now: new Date(),
    });
    try {
      await deps.mailer.send({ ...email, key: claimEmailKey(id, payload.claim_id) });
    } catch (error) {
      deps.onMail("failed");
      throw error;
    }
    deps.onMail("sent");
    deps.logger.info("claim email sent", {
      claimId: payload.claim_id,
      recipient: maskEmail(payload.old_email),
      orders: payload.orders.length,
    });
  };
}
