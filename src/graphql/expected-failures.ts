import { handleStreamOrSingleExecutionResult, type Plugin } from "@envelop/core";
import { GraphQLError } from "graphql";
import { isDatabaseUnavailable } from "../db/availability";
import { DomainError, RateLimitedError, ServiceUnavailableError } from "../domain/errors";
import type { Logger } from "../lib/logger";
import { domainGraphQLError } from "./types/errors";

/**
 * Failures that are not bugs but reach a resolver as thrown errors (a rate limit, the database
 * being down) as the GraphQL errors clients can act on: a stable `extensions.code`, the HTTP
 * status and `Retry-After`. Anything else stays unexpected, for Yoga to mask and log.
 */
export function clientFacingError(error: unknown): GraphQLError | undefined {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof RateLimitedError) {
    const retryAfter = String(original.retryAfterSeconds);
    return new GraphQLError(original.message, {
      extensions: {
        code: original.code,
        retryAfterSeconds: original.retryAfterSeconds,
        http: { status: 429, headers: { "Retry-After": retryAfter } },
      },
    });
  }
  if (original instanceof ServiceUnavailableError || isDatabaseUnavailable(original)) {
    const unavailable = new ServiceUnavailableError();
    return new GraphQLError(unavailable.message, {
      extensions: {
        code: unavailable.code,
        http: { status: 503, headers: { "Retry-After": String(ServiceUnavailableError.retryAfterSeconds) } },
      },
    });
  }
  // A field whose type has no room for a typed error (a query's): the same code, as a GraphQL error.
  if (original instanceof DomainError) return domainGraphQLError(original);
  return undefined;
}

/** Placed before Yoga's error masking, which then leaves these errors as they are. */
export const useClientFacingErrors = (logger: Logger): Plugin => {
  const mapOne = (error: GraphQLError): GraphQLError | undefined => {
    const mapped = clientFacingError(error);
    if (mapped?.extensions.code === "SERVICE_UNAVAILABLE")
      logger.warn("the database is unavailable", { reason: error.message });
    return mapped;
  };
  const withClientFacingErrors = <T extends { errors?: readonly GraphQLError[] }>(result: T): T | undefined => {
    if (!result.errors?.some((error) => clientFacingError(error))) return undefined;
    return {
      ...result,
      errors: result.errors.map((error) => {
        const mapped = mapOne(error);
        return mapped ? new GraphQLError(mapped.message, { path: error.path, extensions: mapped.extensions }) : error;
      }),
    };
  };
  const mapResult = ({
    result,
    setResult,
  }: {
    result: { errors?: readonly GraphQLError[] };
    setResult: (result: never) => void;
  }) => {
    const mapped = withClientFacingErrors(result);
    if (mapped) setResult(mapped as never);
  };
  return {
    onExecute: () => ({ onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, mapResult) }),
    onSubscribe: () => ({
      onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload as never, mapResult),
      onSubscribeError: ({ error, setError }) => {
        const mapped = error instanceof GraphQLError ? mapOne(error) : clientFacingError(error);
        if (mapped) setError(mapped);
      },
    }),
  };
};
