import type { IncomingMessage } from "node:http";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { type ExecutionResult, GraphQLError } from "graphql";
import type { GraphQLServer } from "./yoga";

/**
 * An in-process operation that failed as a whole, in terms any caller can map: a rate limit
 * (`RATE_LIMITED`, with `retryAfterSeconds`), the database down (`SERVICE_UNAVAILABLE`), or
 * something unexpected (no code; Yoga has logged and masked it already).
 */
export class OperationFailedError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Who runs an in-process operation: the HTTP request it serves and the customer its entry point identified. */
export interface InProcessCaller {
  req: IncomingMessage;
  customerId: string | undefined;
}

function failure(error: { message: string; extensions?: Record<string, unknown> }): OperationFailedError {
  const code = typeof error.extensions?.code === "string" ? error.extensions.code : undefined;
  const retryAfter = Number(error.extensions?.retryAfterSeconds);
  return new OperationFailedError(code, error.message, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

/**
 * Runs a typed operation through Yoga's own envelop pipeline (`getEnveloped`: validation with
 * its limits, the context and its sign-in, execution with error masking, client-facing errors and
 * metrics), in process, with no HTTP round trip. The REST routes and the pages use it, so one
 * behaviour has one pipeline behind both APIs (GraphQL and the Store API).
 */
export function inProcessOperation<TData, TVariables extends Record<string, unknown>>(
  yoga: GraphQLServer,
  document: TypedDocumentNode<TData, TVariables>,
) {
  return async (caller: InProcessCaller, variables: TVariables): Promise<TData> => {
    const { schema, validate, contextFactory, execute } = yoga.getEnveloped({
      req: caller.req,
      restCaller: { customerId: caller.customerId },
    });
    const invalid = validate(schema, document);
    if (invalid.length > 0) throw failure(invalid[0]!);
    let contextValue: unknown;
    try {
      contextValue = await contextFactory();
    } catch (error) {
      if (error instanceof GraphQLError) throw failure(error);
      throw error;
    }
    const result = (await execute({
      schema,
      document,
      variableValues: variables,
      contextValue,
    })) as ExecutionResult<TData>;
    if (result.errors?.length) throw failure(result.errors[0]!);
    return result.data!;
  };
}
