import { Repeater } from "graphql-yoga";
import { OrderClaimStatus } from "../../db/generated/prisma/enums";
import { visibleOrderCount } from "../../domain/claim-status";
import { maskEmail } from "../../domain/email";
import {
  AccountRequiredError,
  ClaimEmailsWithheldError,
  ClaimNotFoundError,
  ClaimNotPendingError,
  ClaimTokenExpiredError,
  ClaimTokenInvalidError,
  ClaimTokenUsedError,
  DomainError,
  InvalidInputError,
  NotAuthenticatedError,
} from "../../domain/errors";
import type { OpenedClaim, VerifiedClaim } from "../../services/claim-service";
import { builder, newestFirstWithStatus } from "../builder";
import { domainGraphQLError, ErrorInterface } from "./errors";

const OrderClaimStatusEnum = builder.enumType(OrderClaimStatus, {
  name: "OrderClaimStatus",
  description:
    "PENDING until the emailed token confirms it (VERIFIED) or declines it (DECLINED), the customer cancels it " +
    "(CANCELED) or it runs out (EXPIRED); SUPERSEDED when a newer request by the same customer covers the same " +
    "orders (or, by email, the same address). Every status but PENDING is final.",
});

builder.objectType(ClaimNotPendingError, {
  name: "ClaimNotPendingError",
  description: "The claim is no longer PENDING, so it cannot be canceled; `status` is what it became.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ClaimNotPendingError,
  fields: (t) => ({ status: t.field({ type: OrderClaimStatusEnum, resolve: (error) => error.status }) }),
});

const OrderClaim = builder.prismaObject("OrderClaim", {
  description:
    "A request to move the orders placed under one email to the signed-in customer. Never exposes the token.",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.expose("status", { type: OrderClaimStatusEnum }),
    recipientEmail: t.string({
      description: "Where the token was sent, masked (`j***@example.com`).",
      resolve: (claim) => maskEmail(claim.recipient_email),
    }),
    byEmail: t.exposeBoolean("by_email", {
      description: "Opened by naming an address (claimOrdersByEmail) rather than orders.",
    }),
    orderCount: t.int({
      nullable: true,
      description:
        "How many orders the claim covers; null for a claim by email until it is VERIFIED (until then it reads the " +
        "same whether or not the address has orders).",
      select: { by_email: true, status: true, _count: { select: { orders: true } } },
      resolve: (claim) => visibleOrderCount(claim, claim._count.orders),
    }),
    orders: t.prismaField({
      type: ["Order"],
      description:
        "Empty until the claim is VERIFIED; then the orders it moved to the claimer. Before that the claimer does " +
        "not own them, so nothing about them is shown.",
      // No `select`: the parent's own status decides (a subscription tells a claim as an earlier
      // change left it, and a reload of the row would show the orders of a later one).
      resolve: (query, claim, _args, ctx) => ctx.claims.transferredOrders(claim, query),
    }),
    createdAt: t.expose("created_at", { type: "DateTime" }),
    expiresAt: t.expose("expires_at", { type: "DateTime" }),
    verifiedAt: t.expose("verified_at", { type: "DateTime", nullable: true }),
  }),
});

builder.prismaObjectField("Customer", "orderClaims", (t) =>
  t.relatedConnection("claims", {
    description:
      "The customer's claims, newest first; `status` keeps those in any of the given statuses (e.g. [PENDING]: the " +
      "open ones).",
    cursor: "id",
    totalCount: true,
    args: { status: t.arg({ type: [OrderClaimStatusEnum], required: false }) },
    query: newestFirstWithStatus,
  }),
);

const ClaimOrdersSuccess = builder.objectRef<{ claims: OpenedClaim[] }>("ClaimOrdersSuccess").implement({
  description: "The claims opened, one per email address; empty when no order could be claimed.",
  fields: (t) => ({
    claims: t.prismaField({
      type: ["OrderClaim"],
      // The rows the service wrote, with their order counts: no second read. (No other relation
      // of a PENDING claim is read: `orders` stays empty until it is verified.)
      resolve: (_query, { claims }) => claims,
    }),
  }),
});

/** What claimOrders and claimOrdersByEmail may answer: one union, ClaimOrdersResult, for both. */
const claimOrdersErrors = {
  types: [NotAuthenticatedError, AccountRequiredError, InvalidInputError, ClaimEmailsWithheldError],
  union: { name: "ClaimOrdersResult" },
  // The plugin builds the union once per result name: both fields get the same one.
  result: { name: "ClaimOrdersSuccess" },
  directResult: true as const,
};

/** A claim a mutation ended (declined, canceled), as it stands now. */
function endedClaimSuccess(name: string, description: string) {
  return builder.objectRef<{ claimId: string }>(name).implement({
    description,
    fields: (t) => ({
      claim: t.prismaField({
        type: "OrderClaim",
        resolve: (query, { claimId }, _args, ctx) => ctx.claims.claimById(claimId, query),
      }),
    }),
  });
}
const DeclineOrderClaimSuccess = endedClaimSuccess(
  "DeclineOrderClaimSuccess",
  "The claim is DECLINED: its orders stay where they are, and its token works no more.",
);
const CancelOrderClaimSuccess = endedClaimSuccess(
  "CancelOrderClaimSuccess",
  "The claim is CANCELED (or already was): its token works no more.",
);

const VerifyOrderClaimSuccess = builder.objectRef<VerifiedClaim>("VerifyOrderClaimSuccess").implement({
  description: "The claim is verified; `transferredOrderIds` moved to the claimer.",
  fields: (t) => ({
    claim: t.prismaField({
      type: "OrderClaim",
      resolve: (query, { claimId }, _args, ctx) => ctx.claims.claimById(claimId, query),
    }),
    transferredOrderIds: t.idList({ resolve: ({ transferredOrderIds }) => transferredOrderIds }),
  }),
});

builder.mutationFields((t) => ({
  claimOrders: t.withAuth({ signedIn: true }).field({
    type: ClaimOrdersSuccess,
    description:
      "Asks to move orders placed under other emails to the signed-in customer: one token is emailed to each " +
      "address. " +
      "Unknown and canceled orders, your own and those in another customer's account are skipped silently. " +
      "When an address had its hourly share of claim emails, nothing is opened (ClaimEmailsWithheldError).",
    args: { orderIds: t.arg.idList({ required: true }) },
    errors: claimOrdersErrors,
    resolve: async (_root, { orderIds }, ctx) => ({
      claims: await ctx.claims.claimOrders(ctx.viewer.customerId, orderIds.map(String)),
    }),
  }),
  claimOrdersByEmail: t.withAuth({ signedIn: true }).field({
    type: ClaimOrdersSuccess,
    description:
      "Asks to move every claimable order placed under `email` (guest orders, not canceled, in no account; the " +
      "newest CLAIM_MAX_ORDERS) to the signed-in customer, without knowing their ids. Always one claim, PENDING, " +
      "whether or not the address has any: its `orderCount` stays null until VERIFIED, and only an address with " +
      "orders gets the email (listing them). Replaces your pending claims to the same address.",
    args: { email: t.arg.string({ required: true }) },
    errors: claimOrdersErrors,
    resolve: async (_root, { email }, ctx) => ({
      claims: await ctx.claims.claimOrdersByEmail(ctx.viewer.customerId, email),
    }),
  }),
  declineOrderClaim: t.field({
    type: DeclineOrderClaimSuccess,
    description:
      "Declines a claim with the emailed token (no sign-in: the token is the proof): the orders stay where they " +
      "are. A token works once, for either verifyOrderClaim or this.",
    args: { token: t.arg.string({ required: true }) },
    errors: {
      types: [ClaimTokenInvalidError, ClaimTokenExpiredError, ClaimTokenUsedError],
      union: { name: "DeclineOrderClaimResult" },
      directResult: true,
    },
    resolve: (_root, { token }, ctx) => ctx.claims.declineOrderClaim(token, ctx.clientIp),
  }),
  cancelOrderClaim: t.withAuth({ signedIn: true }).field({
    type: CancelOrderClaimSuccess,
    description:
      "Withdraws one of your PENDING claims: it becomes CANCELED and its token works no more. Someone else's claim " +
      "is not found, like an unknown id.",
    args: { id: t.arg.id({ required: true }) },
    errors: {
      types: [NotAuthenticatedError, ClaimNotFoundError, ClaimNotPendingError],
      union: { name: "CancelOrderClaimResult" },
      directResult: true,
    },
    resolve: (_root, { id }, ctx) => ctx.claims.cancelOrderClaim(ctx.viewer.customerId, String(id)),
  }),
  verifyOrderClaim: t.field({
    type: VerifyOrderClaimSuccess,
    description:
      "Confirms a claim with the emailed token (no sign-in needed: the token is the proof). A token works once.",
    args: { token: t.arg.string({ required: true }) },
    errors: {
      types: [ClaimTokenInvalidError, ClaimTokenExpiredError, ClaimTokenUsedError],
      union: { name: "VerifyOrderClaimResult" },
      directResult: true,
    },
    resolve: (_root, { token }, ctx) => ctx.claims.verifyOrderClaim(token, ctx.clientIp),
  }),
}));

/** A stream's failure, carried to `resolve` so it reaches the client as a GraphQL error before the stream ends. */
class StreamFailure {
  constructor(readonly error: unknown) {}
}

/** The stream's values, then its failure as a last value. `return()` reaches the stream even while it waits. */
function endingOnFailure<T>(stream: Repeater<T>): Repeater<T | StreamFailure> {
  return new Repeater(async (push, stop) => {
    void stop.then(() => stream.return()).catch(() => {});
    try {
      for await (const value of stream) await push(value);
    } catch (error) {
      await push(new StreamFailure(error));
    } finally {
      stop();
    }
  });
}

builder.subscriptionFields((t) => ({
  orderClaimUpdated: t.withAuth({ signedIn: true }).field({
    type: OrderClaim,
    description:
      "The signed-in customer's claims, each time one changes status (PENDING, then one of VERIFIED, DECLINED, " +
      "CANCELED, EXPIRED, SUPERSEDED), " +
      "whichever instance made the change. With `claimId`, that claim only: its current state first, and the stream " +
      "completes once the claim is no longer PENDING. When the sign-in expires (JWT or session), or its session is " +
      "signed out, " +
      "the stream ends: over SSE with an UNAUTHENTICATED error, over WebSocket (JWT only) by the connection closing " +
      "with 4403.",
    args: { claimId: t.arg.id({ required: false, description: "Follow this claim only." }) },
    // Refused when subscribing (no typed result to carry it): the GraphQL error, HTTP 401 over SSE.
    unauthorizedError: () => domainGraphQLError(new NotAuthenticatedError()),
    subscribe: (_root, { claimId }, ctx) => {
      const { customerId, signedInUntil, sessionId } = ctx.viewer;
      return endingOnFailure(
        ctx.claimFeed.watch(customerId, {
          claimId: claimId === null || claimId === undefined ? undefined : String(claimId),
          signedInUntil,
          sessionId,
        }),
      );
    },
    resolve: (event) => {
      if (!(event instanceof StreamFailure)) return event;
      // Unexpected failures are rethrown as they are: Yoga masks and logs them.
      throw event.error instanceof DomainError ? domainGraphQLError(event.error) : event.error;
    },
  }),
}));
