import { type Response, Router } from "express";
import type { GraphQLServer } from "../graphql/yoga";
import { customerIdOf, requireCustomer } from "./auth";
import { invalidInput, MedusaError, tooManyRequests, UNAUTHORIZED } from "./errors";
import { inProcessOperation } from "../graphql/in-process";
import {
  ClaimOrdersDocument,
  type ClaimOrdersMutation,
  VerifyOrderClaimDocument,
  type VerifyOrderClaimMutation,
} from "./operations.generated";
import { jsonBody, parseInput, requiredString, stringArray } from "./validation";

type MutationResult = ClaimOrdersMutation["claimOrders"] | VerifyOrderClaimMutation["verifyOrderClaim"];

/**
 * Maps a mutation result onto Medusa's response: success is 200 `{}`; each typed error becomes
 * Medusa's error body and status.
 */
function sendMutationResult(res: Response, result: MutationResult): void {
  switch (result.__typename) {
    case "ClaimOrdersSuccess":
    case "VerifyOrderClaimSuccess":
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
    default: {
      const unmapped: never = result;
      throw new Error(`no Medusa mapping for ${(unmapped as { __typename: string }).__typename}`);
    }
  }
}

/** Medusa's `StorePostCustomersCustomerOrderClaimReq` and `StorePostCustomersCustomerAcceptClaimReq`. */
export const claimRequest = { order_ids: stringArray("order_ids") };
export const confirmRequest = { token: requiredString("token") };

/** The two Medusa claim routes: thin REST wrappers of the `claimOrders` / `verifyOrderClaim` mutations. */
export function orderClaimRoutes(yoga: GraphQLServer): Router {
  const router = Router();
  const claimOrders = inProcessOperation(yoga, ClaimOrdersDocument);
  const verifyOrderClaim = inProcessOperation(yoga, VerifyOrderClaimDocument);

  router.post("/orders/batch/customer/token", requireCustomer, jsonBody, async (req, res) => {
    const { order_ids: orderIds } = parseInput(claimRequest, req.body);
    const result = await claimOrders({ req, customerId: customerIdOf(res) }, { orderIds });
    sendMutationResult(res, result.claimOrders);
  });

  router.post("/orders/customer/confirm", jsonBody, async (req, res) => {
    const { token } = parseInput(confirmRequest, req.body);
    // The token is the proof: the caller's own sign-in, if any, plays no part (as in Medusa).
    const result = await verifyOrderClaim({ req, customerId: undefined }, { token });
    sendMutationResult(res, result.verifyOrderClaim);
  });

  return router;
}
