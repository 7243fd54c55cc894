import { type Response, Router } from "express";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import type { GraphQLServer } from "../graphql/yoga";
import type { Services } from "../services";
import type { CustomerClaimView } from "../services/claim-views";
import { customerIdOf, personalAnswer, requireCustomer } from "./auth";
import { invalidInput, MedusaError, tooManyRequests, UNAUTHORIZED } from "./errors";
import { inProcessOperation } from "../graphql/in-process";
import {
  CancelOrderClaimDocument,
  type CancelOrderClaimMutation,
  ClaimOrdersByEmailDocument,
  ClaimOrdersDocument,
  type ClaimOrdersOutcomeFragment,
  DeclineOrderClaimDocument,
  type DeclineOrderClaimMutation,
  VerifyOrderClaimDocument,
  type VerifyOrderClaimMutation,
} from "./operations.generated";
import { enumListParam, integerParam, jsonBody, parseInput, requiredString, stringArray } from "./validation";

type MutationResult =
  | ClaimOrdersOutcomeFragment
  | VerifyOrderClaimMutation["verifyOrderClaim"]
  | DeclineOrderClaimMutation["declineOrderClaim"]
  | CancelOrderClaimMutation["cancelOrderClaim"];

/**
 * Maps a mutation result onto Medusa's response: success is 200 `{}`; each typed error becomes
 * Medusa's error body and status.
 */
function sendMutationResult(res: Response, result: MutationResult): void {
  switch (result.__typename) {
    case "ClaimOrdersSuccess":
    case "VerifyOrderClaimSuccess":
    case "DeclineOrderClaimSuccess":
    case "CancelOrderClaimSuccess":
      res.json({});
      return;
    case "NotAuthenticatedError":
      throw UNAUTHORIZED();
    case "AccountRequiredError":
      throw new MedusaError("unauthorized", result.message);
    case "InvalidInputError":
      throw invalidInput(result.field, result.message);
    case "ClaimEmailsWithheldError":
      throw tooManyRequests(result.message, result.retryAfterSeconds);
    case "ClaimTokenInvalidError":
    case "ClaimTokenExpiredError":
    case "ClaimTokenUsedError":
      throw new MedusaError("invalid_data", result.message);
    case "ClaimNotFoundError":
      throw new MedusaError("not_found", result.message);
    case "ClaimNotPendingError":
      throw new MedusaError("not_allowed", result.message);
    default: {
      const unmapped: never = result;
      throw new Error(`no Medusa mapping for ${(unmapped as { __typename: string }).__typename}`);
    }
  }
}

/** Medusa's `StorePostCustomersCustomerOrderClaimReq` and `StorePostCustomersCustomerAcceptClaimReq`. */
export const claimRequest = { order_ids: stringArray("order_ids") };
export const confirmRequest = { token: requiredString("token") };
/** ordergate's own: claim by email alone, and decline (design.md §3, "The whole lifecycle"). */
export const claimByEmailRequest = { email: requiredString("email") };
export const declineRequest = confirmRequest;

/** Most claims one page of `GET /store/customers/me/order-claims` holds. */
const MAX_CLAIMS_PER_PAGE = 100;
const CLAIM_STATUSES = Object.values(OrderClaimStatus).map((status) => status.toLowerCase()) as [string, ...string[]];

/** `GET /store/customers/me/order-claims` query: Medusa's pagination and a status filter (lower case, as Medusa's). */
export const claimsQuery = {
  limit: integerParam("limit", 0, MAX_CLAIMS_PER_PAGE).default(10),
  offset: integerParam("offset", 0, Number.MAX_SAFE_INTEGER).default(0),
  status: enumListParam("status", CLAIM_STATUSES).optional(),
};

/** A claim in the list: masked recipient, no token, no order detail before VERIFIED (then the ids moved). */
function serializeClaim(claim: CustomerClaimView) {
  return {
    id: claim.id,
    status: claim.status.toLowerCase(),
    recipient_email: claim.recipientEmail,
    by_email: claim.byEmail,
    order_count: claim.orderCount,
    order_ids: claim.orders.map((order) => order.id),
    created_at: claim.createdAt,
    expires_at: claim.expiresAt,
    verified_at: claim.verifiedAt,
  };
}

/**
 * The claim routes: Medusa's two (claim by ids, confirm) and ordergate's own (claim by email,
 * decline, cancel, list). The writes are thin REST wrappers of the GraphQL mutations.
 */
export function orderClaimRoutes(services: Services, yoga: GraphQLServer): Router {
  const router = Router();
  const claimOrders = inProcessOperation(yoga, ClaimOrdersDocument);
  const claimOrdersByEmail = inProcessOperation(yoga, ClaimOrdersByEmailDocument);
  const verifyOrderClaim = inProcessOperation(yoga, VerifyOrderClaimDocument);
  const declineOrderClaim = inProcessOperation(yoga, DeclineOrderClaimDocument);
  const cancelOrderClaim = inProcessOperation(yoga, CancelOrderClaimDocument);

  router.post("/orders/batch/customer/token", requireCustomer, jsonBody, async (req, res) => {
    const { order_ids: orderIds } = parseInput(claimRequest, req.body);
    const result = await claimOrders({ req, customerId: customerIdOf(res) }, { orderIds });
    sendMutationResult(res, result.claimOrders);
  });

  router.post("/customers/me/order-claims", requireCustomer, jsonBody, async (req, res) => {
    const { email } = parseInput(claimByEmailRequest, req.body);
    const result = await claimOrdersByEmail({ req, customerId: customerIdOf(res) }, { email });
    sendMutationResult(res, result.claimOrdersByEmail);
  });

  // The token is the proof: the caller's own sign-in, if any, plays no part (as in Medusa).
  router.post("/orders/customer/confirm", jsonBody, async (req, res) => {
    const { token } = parseInput(confirmRequest, req.body);
    const result = await verifyOrderClaim({ req, customerId: undefined }, { token });
    sendMutationResult(res, result.verifyOrderClaim);
  });

  router.post("/orders/customer/decline", jsonBody, async (req, res) => {
    const { token } = parseInput(declineRequest, req.body);
    const result = await declineOrderClaim({ req, customerId: undefined }, { token });
    sendMutationResult(res, result.declineOrderClaim);
  });

  router.delete("/customers/me/order-claims/:id", requireCustomer, async (req, res) => {
    const result = await cancelOrderClaim({ req, customerId: customerIdOf(res) }, { id: String(req.params.id) });
    sendMutationResult(res, result.cancelOrderClaim);
  });

  router.get("/customers/me/order-claims", personalAnswer, requireCustomer, async (req, res) => {
    const query = parseInput(claimsQuery, req.query);
    const { claims, count } = await services.claimViews.pageOfCustomer(customerIdOf(res)!, {
      limit: query.limit,
      offset: query.offset,
      statuses: query.status?.map((status) => status.toUpperCase() as OrderClaimStatus),
    });
    res.json({ order_claims: claims.map(serializeClaim), count, offset: query.offset, limit: query.limit });
  });

  return router;
}
