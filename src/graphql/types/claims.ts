import { Repeater } from "graphql-yoga";
import { OrderClaimStatus } from "../../db/generated/prisma/enums";
import { maskEmail } from "../../domain/email";
import {
  AccountRequiredError,
  ClaimEmailsWithheldError,
  ClaimTokenExpiredError,
  ClaimTokenInvalidError,
  ClaimTokenUsedError,
  DomainError,
  InvalidInputError,
  NotAuthenticatedError,
} from "../../domain/errors";
import type { OpenedClaim, VerifiedClaim } from "../../services/claim-service";
import { builder, newestFirstWithStatus } from "../builder";
import { domainGraphQLError } from "./errors";

const OrderClaimStatusEnum = builder.enumType(OrderClaimStatus, {
  name: "OrderClaimStatus",
  description:
    "PENDING until the emailed token is used (VERIFIED) or runs out (EXPIRED); SUPERSEDED when a newer request by " +
    "the same customer covers the same orders.",
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
    orderCount: t.relationCount("orders", { description: "How many orders the claim covers." }),
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
    errors: {
      types: [NotAuthenticatedError, AccountRequiredError, InvalidInputError, ClaimEmailsWithheldError],
      union: { name: "ClaimOrdersResult" },
      directResult: true,
    },
    resolve: async (_root, { orderIds }, ctx) => ({
      claims: await ctx.claims.claimOrders(ctx.viewer.customerId, orderIds.map(String)),
    }),
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
      "The signed-in customer's claims, each time one changes status (PENDING, SUPERSEDED, VERIFIED, EXPIRED), " +
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
