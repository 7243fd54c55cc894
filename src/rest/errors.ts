import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { isDatabaseUnavailable } from "../db/availability";
import { RateLimitedError, ServiceUnavailableError } from "../domain/errors";
import { OperationFailedError } from "../graphql/in-process";
import type { Logger } from "../lib/logger";

/** Medusa's error types and the status each maps to (design.md §1). */
const STATUS = {
  invalid_data: 400,
  not_allowed: 400,
  database_error: 500,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  duplicate_error: 422,
} as const;
const CODE: Partial<Record<MedusaErrorType, string>> = {
  conflict: "invalid_state_error",
  duplicate_error: "invalid_request_error",
  database_error: "api_error",
};

export type MedusaErrorType = keyof typeof STATUS;

/** Where ordergate answers differently from Medusa v1's status for a type (rate limits, outages). */
interface MedusaErrorOptions {
  status?: number;
  code?: string;
  headers?: Record<string, string>;
}

export class MedusaError extends Error {
  constructor(
    readonly type: MedusaErrorType,
    message: string,
    readonly options: MedusaErrorOptions = {},
  ) {
    super(message);
  }
}

export const UNAUTHORIZED = () => new MedusaError("unauthorized", "Unauthorized");

/** A rate limit's refusal: 429 with `Retry-After` (Medusa v1 has no rate limits; its closest type). */
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new MedusaError("not_allowed", message, {
    status: 429,
    code: "rate_limited",
    headers: { "Retry-After": String(retryAfterSeconds) },
  });

/** The database is unreachable: 503 and a retry hint instead of Medusa's 500 for a database error. */
export const serviceUnavailable = (message = new ServiceUnavailableError().message) =>
  new MedusaError("database_error", message, {
    status: 503,
    headers: { "Retry-After": String(ServiceUnavailableError.retryAfterSeconds) },
  });

/** Argument names as Medusa's REST bodies spell them, where GraphQL and the services say them otherwise. */
const REST_FIELD_NAMES: Record<string, string> = {
  orderIds: "order_ids",
  firstName: "first_name",
  lastName: "last_name",
};

/** A refused argument (`InvalidInputError`) as Medusa's 400, the field named as the REST body names it. */
export function invalidInput(field: string, message: string): MedusaError {
  return new MedusaError("invalid_data", message.replace(field, REST_FIELD_NAMES[field] ?? field));
}

/** Renders any error as Medusa's JSON body; unexpected ones are logged and masked. */
export function medusaErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    // The client hung up mid-upload: nobody is left to answer, and nothing went wrong here.
    if ((error as { type?: string }).type === "request.aborted") {
      logger.debug("the client closed the request before sending its body");
      res.destroy();
      return;
    }
    if (isDatabaseUnavailable(error)) logger.warn("the database is unavailable", { reason: (error as Error).message });
    const known = toMedusaError(error);
    if (!known) {
      logger.error("unexpected error", error);
      res.status(500).json({ code: "unknown_error", type: "unknown_error", message: "An unknown error occurred." });
      return;
    }
    sendMedusaError(res, known);
  };
}

/** Medusa's JSON error body, status and headers for a known error. */
export function sendMedusaError(res: Response, error: MedusaError): void {
  const code = error.options.code ?? CODE[error.type];
  if (error.options.headers) res.set(error.options.headers);
  res
    .status(error.options.status ?? STATUS[error.type])
    .json({ type: error.type, message: error.message, ...(code ? { code } : {}) });
}

/** Expected failures (the client's fault, a rate limit, the database down) in Medusa's shape. */
function toMedusaError(error: unknown): MedusaError | undefined {
  if (error instanceof MedusaError) return error;
  if (error instanceof RateLimitedError) return tooManyRequests(error.message, error.retryAfterSeconds);
  // A claim route's operation refused as a whole (the rest is unexpected, logged and masked already).
  if (error instanceof OperationFailedError && error.code === "RATE_LIMITED")
    return tooManyRequests(error.message, error.retryAfterSeconds ?? 1);
  if (error instanceof OperationFailedError && error.code === "SERVICE_UNAVAILABLE")
    return serviceUnavailable(error.message);
  if (error instanceof ServiceUnavailableError || isDatabaseUnavailable(error)) return serviceUnavailable();
  const httpError = error as { type?: string; status?: number; limit?: number; message?: string };
  switch (httpError.type) {
    case "entity.parse.failed":
      return new MedusaError("invalid_data", "The request body is not valid JSON.");
    case "entity.too.large":
      return bodyTooLarge(httpError.limit!);
    case "encoding.unsupported":
      return new MedusaError(
        "invalid_data",
        "The request body's Content-Encoding is not supported (identity, gzip, deflate or br).",
        { status: 415 },
      );
    case "charset.unsupported":
      return new MedusaError("invalid_data", "The request body must be UTF-8 encoded JSON.", { status: 415 });
  }
  // Other client errors raised by Express and body-parser: a URL that does not decode, a body
  // whose bytes do not match its Content-Encoding, a length that does not match the body.
  if (httpError.status && httpError.status >= 400 && httpError.status < 500) {
    const message =
      httpError.type === "request.size.invalid"
        ? "The request body's length does not match its Content-Length."
        : httpError.message;
    return new MedusaError("invalid_data", message ?? "The request is malformed.", { status: httpError.status });
  }
  return undefined;
}

/** 413 for a body over the limit (read or declared), in Medusa's shape. */
export const bodyTooLarge = (limitBytes: number) =>
  new MedusaError("invalid_data", `The request body is larger than ${limitBytes} bytes.`, { status: 413 });

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new MedusaError("not_found", `Route ${req.method} ${req.baseUrl}${req.path} was not found`));
};
