import { type Response, Router } from "express";
import type { Services } from "../graphql/context";
import { preparedOperation } from "../graphql/execute";
import { customerIdOf, requireCustomer } from "./auth";
import { MedusaError, UNAUTHORIZED } from "./errors";
import { jsonBody, parseBody, requiredString, stringArray } from "./validation";

type MutationResult = { __typename: string; code?: string; message?: string; field?: string };

const CLAIM_ORDERS = preparedOperation<{ claimOrders: MutationResult }, { orderIds: string[] }>(`
  mutation ClaimOrders($orderIds: [ID!]!) {
    claimOrders(orderIds: $orderIds) {
      __typename
      ... on Error { code message }
      ... on InvalidInputError { field }
    }
  }`);

const VERIFY_ORDER_CLAIM = preparedOperation<{ verifyOrderClaim: MutationResult }, { token: string }>(`
  mutation VerifyOrderClaim($token: String!) {
    verifyOrderClaim(token: $token) {
      __typename
      ... on Error { code message }
    }
  }`);

/** GraphQL argument names as Medusa's REST bodies spell them. */
const REST_FIELD_NAMES: Record<string, string> = { orderIds: "order_ids", token: "token" };

/**
 * Maps a GraphQL mutation result onto Medusa's response: success is 200 `{}`, a typed error
 * becomes Medusa's error body with its status.
 */
function sendMutationResult(res: Response, result: MutationResult): void {
  if (!result.code) {
    res.json({});
    return;
  }
  switch (result.code) {
    case "UNAUTHENTICATED":
      throw UNAUTHORIZED();
    case "ACCOUNT_REQUIRED":
      throw new MedusaError("unauthorized", result.message!);
    case "INVALID_INPUT": {
      const field = result.field!;
      const restField = REST_FIELD_NAMES[field] ?? field;
      throw new MedusaError("invalid_data", result.message!.replace(field, restField));
    }
    default:
      // Claim-token errors and any typed error added later: the caller's input was refused.
      throw new MedusaError("invalid_data", result.message!);
  }
}

/** The two Medusa claim routes: thin doors onto the `claimOrders` / `verifyOrderClaim` mutations. */
export function orderClaimRoutes(services: Services): Router {
  const router = Router();

  router.post("/orders/batch/customer/token", requireCustomer, jsonBody, async (req, res) => {
    const { order_ids: orderIds } = parseBody({ order_ids: stringArray("order_ids") }, req.body);
    const { claimOrders } = await CLAIM_ORDERS(services, customerIdOf(res), { orderIds });
    sendMutationResult(res, claimOrders);
  });

  router.post("/orders/customer/confirm", jsonBody, async (req, res) => {
    const { token } = parseBody({ token: requiredString("token") }, req.body);
    // The token is the proof: the caller's own sign-in, if any, plays no part (as in Medusa).
    const { verifyOrderClaim } = await VERIFY_ORDER_CLAIM(services, undefined, { token });
    sendMutationResult(res, verifyOrderClaim);
  });

  return router;
}
