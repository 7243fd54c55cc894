import { handleStreamOrSingleExecutionResult, type Plugin } from "@envelop/core";
import { GraphQLError } from "graphql";
import { isDatabaseUnavailable } from "../db/availability";
import { RateLimitedError, ServiceUnavailableError } from "../domain/errors";

/** Seconds a client is asked to wait before retrying while the database is unreachable. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

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
      extensions: { code: original.code, retryAfterSeconds: original.retryAfterSeconds, http: { status: 429, headers: { "Retry-After": retryAfter } } },
    });
  }
  if (original instanceof ServiceUnavailableError || isDatabaseUnavailable(original)) {
    const unavailable = new ServiceUnavailableError();
    return new GraphQLError(unavailable.message, {
      extensions: { code: unavailable.code, http: { status: 503, headers: { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) } } },
    });
  }
  return undefined;
}

function withClientFacingErrors<T extends { errors?: readonly GraphQLError[] }>(result: T): T | undefined {
  if (!result.errors?.some((error) => clientFacingError(error))) return undefined;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const mapped = clientFacingError(error);
      return mapped ? new GraphQLError(mapped.message, { path: error.path, extensions: mapped.extensions }) : error;
    }),
  };
}

/** Placed before Yoga's error masking, which then leaves these errors as they are. */
export const useClientFacingErrors = (): Plugin => ({
  onExecute: () => ({
    onExecuteDone: (payload) =>
      handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
        const mapped = withClientFacingErrors(result);
        if (mapped) setResult(mapped);
      }),
  }),
  onSubscribe: () => ({
    onSubscribeResult: (payload) =>
      handleStreamOrSingleExecutionResult(payload as never, ({ result, setResult }) => {
        const mapped = withClientFacingErrors(result);
        if (mapped) setResult(mapped);
      }),
    onSubscribeError: ({ error, setError }) => {
      const mapped = clientFacingError(error);
      if (mapped) setError(mapped);
    },
  }),
});
