import { Prisma } from "./generated/prisma/client";

/** Prisma's codes for "the database could not be reached / went away / is saturated" (a full pool too). */
const UNREACHABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
/** Socket failures, and PostgreSQL's connection-exception (08) and shutdown (57P0x) SQLSTATEs. */
const UNREACHABLE_DRIVER_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|08\w{3}|57P0[1-3])$/;
const UNREACHABLE_MESSAGES = new RegExp(
  [
    "Connection terminated",
    "connection timeout",
    "timeout exceeded when trying to connect",
    "Can't reach database server",
    "Server has closed the connection",
    "DatabaseNotReachable",
    "ConnectionClosed",
    "terminating connection",
  ].join("|"),
  "i",
);

/**
 * True when `error` says the database is unreachable rather than that a query was wrong: the
 * request can be answered 503 (try again) instead of 500. Looks through wrapped causes.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== "object" || depth > 5) return false;
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === "string" && (UNREACHABLE_PRISMA_CODES.has(code) || UNREACHABLE_DRIVER_CODES.test(code)))
    return true;
  if (typeof message === "string" && UNREACHABLE_MESSAGES.test(message)) return true;
  return (
    isDatabaseUnavailable(cause, depth + 1) ||
    isDatabaseUnavailable((error as { originalError?: unknown }).originalError, depth + 1)
  );
}
