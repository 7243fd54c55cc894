import { randomUUID } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import pinoHttp from "pino-http";
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
  /**
   * The request's line: its fields, handed to `onRecord` as well (pino-http asks for them once, as
   * the response ends).
   */
  const line = (req: Request, res: Response, durationMs: number) => {
    const record: RequestRecord = {
      requestId: String(req.id),
      method: req.method,
      route: routeOf(req),
      status: res.statusCode,
      durationMs,
      aborted: !res.writableFinished,
    };
    onRecord(record);
    const { aborted: _, ...fields } = record;
    return fields;
  };
  const outcome = (res: Response) =>
    !res.writableFinished ? "aborted" : res.statusCode >= 500 ? "failed" : "completed";
  const messages = {
    aborted: "request aborted by the client",
    failed: "request failed",
    completed: "request completed",
  } as const;
  const httpLog = pinoHttp<Request, Response>({
    logger: logger.pino,
    genReqId: (req, res) => {
      const sent = req.headers["x-request-id"];
      const requestId = typeof sent === "string" && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
      res.setHeader("x-request-id", requestId);
      return requestId;
    },
    // The line's own fields only: no serialized req/res (headers, the url with its query string).
    quietResLogger: true,
    customLogLevel: (_req, res) => (outcome(res) === "failed" ? "error" : "info"),
    customSuccessMessage: (_req, res) => messages[outcome(res)],
    customErrorMessage: (_req, res) => messages[outcome(res)],
    customSuccessObject: (req, res, { responseTime }: { responseTime: number }) => line(req, res, responseTime),
    customErrorObject: (req, res, _error, { responseTime }: { responseTime: number }) => line(req, res, responseTime),
  });
  // pino-http has no log context of its own: what the request logs through our Logger gets its id from here.
  return (req, res, next) => httpLog(req, res, () => withLogContext({ requestId: req.id }, next));
}
