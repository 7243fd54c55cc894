import type { OrderClaimStatus } from "../db/generated/prisma/enums";

/**
 * A claim's email is due (the outbox topic; Medusa v1's event name). Nothing publishes Medusa's
 * in-process event: the claim notifier, its only listener, reads the outbox row.
 */
export const ORDER_UPDATE_TOKEN_CREATED = "order-update-token.created";

/** A claim changed status. Never carries the token. */
export const ORDER_CLAIM_UPDATED = "order-claim.updated";
/** The recipient declined a claim (its status event, under a topic of its own for listeners of the outbox). */
export const ORDER_CLAIM_DECLINED = "order-claim.declined";
/** The claimer canceled a claim (as ORDER_CLAIM_DECLINED). */
export const ORDER_CLAIM_CANCELED = "order-claim.canceled";
/** Every topic whose event is a claim's new status, for the claims' subscribers. */
export const CLAIM_STATUS_TOPICS = [ORDER_CLAIM_UPDATED, ORDER_CLAIM_DECLINED, ORDER_CLAIM_CANCELED] as const;
export interface OrderClaimUpdated {
  claimId: string;
  claimerCustomerId: string;
  status: OrderClaimStatus;
  at: string;
}

/**
 * A customer session was signed out: its open subscription streams end, on every instance.
 * Names the session by its row id (the SHA-256 of its token), never by the token.
 */
export const CUSTOMER_SESSION_ENDED = "customer-session.ended";
export interface CustomerSessionEnded {
  sessionId: string;
}

/** What the outbox stores per topic: `payload` is kept, `secret` is erased after delivery. */
export interface OutboxMessages {
  [ORDER_UPDATE_TOKEN_CREATED]: {
    payload: { claim_id: string; old_email: string; new_customer_id: string; orders: string[]; display_ids: number[] };
    secret: { token: string };
  };
  [ORDER_CLAIM_UPDATED]: { payload: OrderClaimUpdated; secret?: undefined };
  [ORDER_CLAIM_DECLINED]: { payload: OrderClaimUpdated; secret?: undefined };
  [ORDER_CLAIM_CANCELED]: { payload: OrderClaimUpdated; secret?: undefined };
}
export type OutboxTopic = keyof OutboxMessages;

export interface OutboxEventRow<T extends OutboxTopic = OutboxTopic> {
  id: bigint;
  topic: T;
  payload: OutboxMessages[T]["payload"];
  secret: OutboxMessages[T]["secret"] | null;
  /** This attempt's number (graphile-worker's count, 1 for the first). */
  attempts: number;
}

/** Delivers one event; throwing makes the job worker retry it later (or park it: src/jobs/worker.ts). */
export type OutboxHandler<T extends OutboxTopic> = (event: OutboxEventRow<T>) => Promise<void>;
export type OutboxHandlers = { [T in OutboxTopic]: OutboxHandler<T> };
