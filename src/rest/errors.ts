import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../logger";

/** Medusa's error types and the status each maps to (design.md §1). */
const STATUS = {
  invalid_data: 400,
  not_allowed: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  duplicate_error: 422,
} as const;
const CODE: Partial<Record<MedusaErrorType, string>> = { conflict: "invalid_state_error", duplicate_error: "invalid_request_error" };

export type MedusaErrorType = keyof typeof STATUS;

export class MedusaError extends Error {
  constructor(
    readonly type: MedusaErrorType,
    message: string,
  ) {
    super(message);
  }
}

export const UNAUTHORIZED = () => new MedusaError("unauthorized", "Unauthorized");

/** Argument names as Medusa's REST bodies spell them, where GraphQL and the services say them otherwise. */
const REST_FIELD_NAMES: Record<string, string> = { orderIds: "order_ids", firstName: "first_name", lastName: "last_name" };

/** A refused argument (`InvalidInputError`) as Medusa's 400, the field named as the REST body names it. */
export function invalidInput(field: string, message: string): MedusaError {
  return new MedusaError("invalid_data", message.replace(field, REST_FIELD_NAMES[field] ?? field));
}

/** Renders any error as Medusa's JSON body; unexpected ones are logged and masked. */
export function medusaErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    // The client hung up mid-upload: nobody is left to answer, and nothing went wrong here.
    if ((error as { type?: string }).type === "request.aborted") {
      logger.debug(`${req.method} ${req.baseUrl}${req.path}: the client closed the request before sending its body`);
      res.destroy();
      return;
    }
    const known = toMedusaError(error);
    if (!known) {
      logger.error(`${req.method} ${req.baseUrl}${req.path} failed`, error);
      res.status(500).json({ code: "unknown_error", type: "unknown_error", message: "An unknown error occurred." });
      return;
    }
    const code = CODE[known.type];
    res.status(STATUS[known.type]).json({ type: known.type, message: known.message, ...(code ? { code } : {}) });
  };
}

/** body-parser's failures are the client's fault: say so in Medusa's shape. */
function toMedusaError(error: unknown): MedusaError | undefined {
  if (error instanceof MedusaError) return error;
  const parserError = error as { type?: string; status?: number; limit?: number };
  switch (parserError.type) {
    case "entity.parse.failed":
      return new MedusaError("invalid_data", "The request body is not valid JSON.");
    case "entity.too.large":
      return new MedusaError("invalid_data", `The request body is larger than ${parserError.limit} bytes.`);
    case "encoding.unsupported":
    case "charset.unsupported":
      return new MedusaError("invalid_data", "The request body must be UTF-8 encoded JSON.");
    default:
      return undefined;
  }
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new MedusaError("not_found", `Route ${req.method} ${req.baseUrl}${req.path} was not found`));
};
