import { randomUUID } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { type Logger, withLogContext } from "../lib/logger";

/** A request id a client or proxy may choose: short, and safe to put in a log line or header. */
const CLIENT_REQUEST_ID = /^[\w.:@+=/-]{1,128}$/;

/**
 * The route a request matched, as a template (`/store/orders/:id`), for logs and metric labels
 * (never the raw path: ids would explode the metrics and may be personal).
 */
export function routeOf(req: Request): string {
  // A handler that names its route itself (requests forwarded to Medusa).
  const named = (req.res?.locals as { route?: unknown } | undefined)?.route;
  if (typeof named === "string") return named;
  // `baseUrl` is the client's spelling of the mount path (routing ignores case): ours are lower case.
  const mount = req.baseUrl.toLowerCase();
  if (req.route) return `${mount}${(req.route as { path: string }).path}`;
  // Mounted handlers without a route of their own (GraphQL).
  if (mount) return mount;
  return "(unmatched)";
}

export interface RequestRecord {
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  /** The client hung up before the response was sent. */
  aborted: boolean;
}

/**
 * One JSON line per request (method, route, status, duration) with its request id, taken from
 * `x-request-id` when a client or proxy sent a usable one, echoed in the response; every line
 * logged while the request is handled carries the same id. `onRecord` hears of each request
 * (metrics). The query string is never logged: it may hold a token.
 */
export function requestLog(logger: Logger, onRecord: (record: RequestRecord) => void = () => {}): RequestHandler {
  const messages = {
    aborted: "request aborted by the client",
    failed: "request failed",
    completed: "request completed",
  } as const;
  return (req, res, next) => {
    const started = performance.now();
    const sent = req.headers["x-request-id"];
    const requestId = typeof sent === "string" && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
    res.setHeader("x-request-id", requestId);
    // Once, whichever comes first: the answer sent, the connection gone, or the answer failing.
    const done = () => {
      res.off("close", done).off("finish", done).off("error", done);
      const record: RequestRecord = {
        requestId,
        method: req.method,
        route: routeOf(req),
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        aborted: !res.writableFinished,
      };
      onRecord(record);
      const outcome = record.aborted ? "aborted" : record.status >= 500 ? "failed" : "completed";
      const level = outcome === "failed" ? "error" : "info";
      // Only the line's own fields: no headers, no url with its query string.
      if (logger.pino.isLevelEnabled(level)) {
        const { aborted: _, ...fields } = record;
        logger.pino[level](fields, messages[outcome]);
      }
    };
    res.on("close", done).on("finish", done).on("error", done);
    withLogContext({ requestId }, next);
  };
}
