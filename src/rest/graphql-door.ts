import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { Request } from "express";
import { type ExecutionResult, type GraphQLFormattedError, print } from "graphql";
import { GRAPHQL_PATH, type GraphQLServer } from "../graphql/yoga";
import { serviceUnavailable, tooManyRequests } from "./errors";

/** Never resolved: the request goes to Yoga in-process, not over the network. */
const IN_PROCESS_ORIGIN = "http://ordergate.internal";

/** An error the operation's result carried, as the Store API answers it. */
function storeApiError(error: GraphQLFormattedError): Error {
  const extensions = error.extensions ?? {};
  switch (extensions.code) {
    case "RATE_LIMITED":
      return tooManyRequests(error.message, Number(extensions.retryAfterSeconds));
    case "SERVICE_UNAVAILABLE":
      return serviceUnavailable(error.message);
    default:
      // Unexpected (already logged and masked by Yoga) or a refusal by a limit plugin: neither
      // can happen for the REST door's fixed, validated operations unless something is wrong.
      return new Error(`GraphQL operation failed: ${error.message}${extensions.code ? ` (${String(extensions.code)})` : ""}`);
  }
}

/**
 * A Store API route's door into GraphQL: runs a typed operation through Yoga's own pipeline
 * (`yoga.fetch`, in-process), so every plugin of `/graphql` (limits, error mapping, logs,
 * metrics) covers the REST door too. The caller is the customer the Store API identified.
 */
export function graphqlOperation<TData, TVariables extends Record<string, unknown>>(yoga: GraphQLServer, document: TypedDocumentNode<TData, TVariables>) {
  const query = print(document);
  return async (req: Request, customerId: string | undefined, variables: TVariables): Promise<TData> => {
    // The request id needs no header: the in-process request runs in this request's log context.
    const response = await yoga.fetch(
      `${IN_PROCESS_ORIGIN}${GRAPHQL_PATH}`,
      { method: "POST", headers: { "content-type": "application/json", accept: "application/graphql-response+json" }, body: JSON.stringify({ query, variables }) },
      { req, restCaller: { customerId } },
    );
    const result = (await response.json()) as ExecutionResult<TData>;
    if (result.errors?.length) throw storeApiError(result.errors[0]!);
    return result.data!;
  };
}
