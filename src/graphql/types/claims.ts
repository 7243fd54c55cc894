import { OrderClaimStatus } from "../../db/generated/prisma/enums";
import { maskEmail } from "../../domain/email";
import {
  AccountRequiredError,
  ClaimTokenExpiredError,
  ClaimTokenInvalidError,
  ClaimTokenUsedError,
  InvalidInputError,
  NotAuthenticatedError,
} from "../../domain/errors";
import type { VerifiedClaim } from "../../services/claim-service";
import { builder } from "../builder";

const OrderClaimStatusEnum = builder.enumType(OrderClaimStatus, {
  name: "OrderClaimStatus",
  description: "PENDING until the emailed token is used (VERIFIED) or runs out (EXPIRED); SUPERSEDED when a newer request by the same customer covers the same orders.",
});

builder.prismaObject("OrderClaim", {
  description: "A request to move the orders placed under one email to the signed-in customer. Never exposes the token.",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.expose("status", { type: OrderClaimStatusEnum }),
    recipientEmail: t.string({
      description: "Where the token was sent, masked (`j***@example.com`).",
      select: { recipient_email: true },
      resolve: (claim) => maskEmail(claim.recipient_email),
    }),
    orders: t.relation("orders", { query: { orderBy: { order: { display_id: "asc" } } } }),
    createdAt: t.expose("created_at", { type: "DateTime" }),
    expiresAt: t.expose("expires_at", { type: "DateTime" }),
    verifiedAt: t.expose("verified_at", { type: "DateTime", nullable: true }),
  }),
});

builder.prismaObject("OrderClaimOrder", {
  name: "OrderClaimOrder",
  description: "An order a claim covers: its id and number only, since the claimer may not own it yet.",
  fields: (t) => ({
    id: t.exposeID("order_id"),
    displayId: t.int({ select: { order: { select: { display_id: true } } }, resolve: (link) => link.order.display_id }),
    transferred: t.boolean({
      description: "Whether verification moved this order (false while pending, or if its email changed meanwhile).",
      select: { transferred_at: true },
      resolve: (link) => link.transferred_at !== null,
    }),
  }),
});

const ClaimOrdersSuccess = builder.objectRef<{ claimIds: string[] }>("ClaimOrdersSuccess").implement({
  description: "The claims opened, one per email address; empty when no order could be claimed.",
  fields: (t) => ({
    claims: t.prismaField({
      type: ["OrderClaim"],
      resolve: (query, { claimIds }, _args, ctx) =>
        ctx.prisma.orderClaim.findMany({ ...query, where: { id: { in: claimIds } }, orderBy: { recipient_email: "asc" } }),
    }),
  }),
});

const VerifyOrderClaimSuccess = builder.objectRef<VerifiedClaim>("VerifyOrderClaimSuccess").implement({
  description: "The claim is verified; `transferredOrderIds` moved to the claimer.",
  fields: (t) => ({
    claim: t.prismaField({
      type: "OrderClaim",
      resolve: (query, { claimId }, _args, ctx) => ctx.prisma.orderClaim.findUniqueOrThrow({ ...query, where: { id: claimId } }),
    }),
    transferredOrderIds: t.idList({ resolve: ({ transferredOrderIds }) => transferredOrderIds }),
  }),
});

builder.mutationFields((t) => ({
  claimOrders: t.field({
    type: ClaimOrdersSuccess,
    description:
      "Asks to move orders placed under other emails to the signed-in customer: one token is emailed to each address. " +
      "Unknown, canceled and already-own orders are skipped silently.",
    args: { orderIds: t.arg.idList({ required: true }) },
    errors: {
      types: [NotAuthenticatedError, AccountRequiredError, InvalidInputError],
      union: { name: "ClaimOrdersResult" },
      directResult: true,
    },
    resolve: async (_root, { orderIds }, ctx) => ({
      claimIds: await ctx.claims.claimOrders(ctx.viewer?.customerId, orderIds.map(String)),
    }),
  }),
  verifyOrderClaim: t.field({
    type: VerifyOrderClaimSuccess,
    description: "Confirms a claim with the emailed token (no sign-in needed: the token is the proof). A token works once.",
    args: { token: t.arg.string({ required: true }) },
    errors: {
      types: [ClaimTokenInvalidError, ClaimTokenExpiredError, ClaimTokenUsedError],
      union: { name: "VerifyOrderClaimResult" },
      directResult: true,
    },
    resolve: (_root, { token }, ctx) => ctx.claims.verifyOrderClaim(token),
  }),
}));
