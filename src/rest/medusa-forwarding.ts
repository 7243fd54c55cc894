import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { Request, RequestHandler, Response } from "express";
import { watchStreamedBody } from "../lib/body-limits";
import type { Logger } from "../lib/logger";
import { SESSION_COOKIE } from "../lib/session-cookie";
import type { AuthService } from "../services/auth-service";
import { customerIdOf, signedInBySession } from "./auth";
import { bodyTooLarge, MedusaError, sendMedusaError } from "./errors";
import { STORE_BODY_LIMIT_BYTES } from "./validation";

/** The label forwarded requests carry in logs and metrics (one label for every Medusa route). */
export const FORWARDED_ROUTE = "/store/* (Medusa)";

/** How long the store JWT lasts that stands in for ordergate's session cookie on a forwarded request. */
const FORWARDED_SIGN_IN_TTL = "5m" as const;

/** Hop-by-hop request headers (RFC 9110 §7.6.1), and `Expect` (Node has answered `100 Continue` already). */
const NOT_FORWARDED = [
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "expect",
];

/**
 * Headers that say where a request came from. None is passed on as the client wrote it: ordergate
 * sets X-Forwarded-For/-Host/-Proto itself, from what TRUST_PROXY lets it believe.
 */
const isClientOriginHeader = (name: string) =>
  name.startsWith("x-forwarded-") || name === "forwarded" || name === "x-real-ip";

/**
 * Hop-by-hop answer headers: Medusa's connection to ordergate is not the client's (Node sets the
 * client's own Connection, Keep-Alive and chunking).
 */
const NOT_ANSWERED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** How long the store JWT of a session is reused for further requests of the same customer (5 minutes are left at first). */
const SIGN_IN_REUSE_MS = 60_000;
/** The most customers whose forwarded JWT is kept at once (past it, the cache starts over). */
const SIGN_IN_CACHE_SIZE = 10_000;

/** Medusa took longer than MEDUSA_TIMEOUT to start its answer (or to accept the connection). */
class MedusaTimeoutError extends Error {
  readonly code = "MEDUSA_TIMEOUT";
}

/** A cookie header without the pair named `name`; undefined when nothing is left. */
function withoutCookie(header: string, name: string): string | undefined {
  const kept = header
    .split(";")
    .filter((pair) => pair.split("=")[0]!.trim() !== name)
    .join(";")
    .trim();
  return kept || undefined;
}

/**
 * X-Forwarded-For/-Host/-Proto as ordergate sees the request under TRUST_PROXY (Express's
 * `req.ips`, `req.host`, `req.protocol`): from an untrusted peer, the socket's address and what
 * ordergate itself was sent (Host, TLS or not), whatever the client claimed; from a trusted proxy,
 * the chain it vouches for (from the client address on) with the proxy's address appended, and its
 * Host and Proto. Any other such header the client sent is dropped.
 */
function setForwardedHeaders(req: Request): void {
  const forwardedFor = [...req.ips, req.socket.remoteAddress].filter(Boolean).join(", ");
  const { host, protocol } = req;
  for (const name of Object.keys(req.headers)) if (isClientOriginHeader(name)) delete req.headers[name];
  req.headers["x-forwarded-for"] = forwardedFor;
  if (host) req.headers["x-forwarded-host"] = host;
  req.headers["x-forwarded-proto"] = protocol;
}

/**
 * Whether a raw request target has a `.` or `..` segment, also percent-encoded (`%2e%2e`, `%2E.`,
 * doubly encoded `%252e`) or next to an encoded slash or backslash (`..%2f`): whoever decodes or
 * normalises the path after ordergate (Medusa, a proxy in between) could otherwise be led out of
 * `/store`. Decoded round by round until nothing changes (each round shortens the text).
 */
function hasDotSegment(target: string): boolean {
  let path = target.split(/[?#]/, 1)[0]!;
  for (;;) {
    if (path.split(/[/\\]/).some((segment) => segment === "." || segment === "..")) return true;
    const decoded = path.replace(/%(25|2e|2f|5c)/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === path) return false;
    path = decoded;
  }
}

/**
 * The answer (status and Medusa's error body, `{ type, message }`) when the request to Medusa
 * itself fails: Medusa unreachable (502) or not answering within MEDUSA_TIMEOUT (504).
 */
function medusaFailureAnswer(timedOut: boolean, timeoutMs: number) {
  return timedOut
    ? {
        status: 504,
        body: {
          type: "unknown_error",
          code: "medusa_timeout",
          message: `The store backend did not answer within ${timeoutMs / 1000} s.`,
        },
      }
    : {
        status: 502,
        body: { type: "unknown_error", code: "medusa_unavailable", message: "The store backend could not be reached." },
      };
}

export interface ForwardingOptions {
  /** MEDUSA_URL. */
  medusaUrl: string;
  /** MEDUSA_TIMEOUT, in milliseconds. */
  timeoutMs: number;
}

/**
 * Sends every `/store` request ordergate does not answer itself to Medusa (MEDUSA_URL) and its
 * answer back: status, headers, cookies and body as they are, streamed both ways (never buffered),
 * over kept-alive connections. What ordergate adds: `X-Forwarded-For/-Host/-Proto` (its own, see
 * `setForwardedHeaders`) and its request id; what it takes away: hop-by-hop headers, Medusa's CORS
 * headers (STORE_CORS is the one policy for `/store`: Medusa's would override it or open `/store`
 * to origins ordergate refuses), and Medusa's own session cookie, `connect.sid` (Medusa sets one on
 * every answer; on ordergate's origin that name is ordergate's session, which it would overwrite).
 * Medusa down, or not starting its answer within MEDUSA_TIMEOUT: 502 or 504 in Medusa's error shape.
 *
 * What it refuses, in Medusa's shape, before Medusa sees anything: a path with dot-segments (400),
 * and an unsafe request signed in by the session cookie from another site (403). A body that
 * streams past STORE_BODY_LIMIT_BYTES (a chunked one has no length to refuse up front) is cut off:
 * the request to Medusa is aborted before it is complete, and the client gets 413.
 *
 * One login for both: a request signed in with ordergate's session cookie (`POST /store/auth` is
 * ordergate's) reaches Medusa with a short store JWT for that same customer in place of the cookie
 * and of any `Authorization` it carried, so Medusa sees whom ordergate sees: its customer routes
 * and a signed-in customer's cart know who it is. A bearer JWT alone is passed on as it is: both
 * sides take the same ones.
 */
export function forwardToMedusa(
  options: ForwardingOptions & { issueStoreToken: AuthService["issueStoreToken"] },
  logger: Logger,
): RequestHandler {
  const target = new URL(options.medusaUrl);
  const secure = target.protocol === "https:";
  const send = secure ? https.request : http.request;
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  // MEDUSA_URL may have a path of its own, which every forwarded path goes under.
  const pathPrefix = target.pathname.replace(/\/$/, "");
  const hostname = target.hostname.replace(/^\[|\]$/g, "");

  /** The JWT standing in for each customer's session cookie: signing one for every request costs CPU. */
  const signIns = new Map<string, { token: string; reuseUntil: number }>();
  const signInFor = (customerId: string) => {
    const now = Date.now();
    const kept = signIns.get(customerId);
    if (kept && kept.reuseUntil > now) return kept.token;
    if (signIns.size >= SIGN_IN_CACHE_SIZE) signIns.clear();
    const token = options.issueStoreToken(customerId, FORWARDED_SIGN_IN_TTL);
    signIns.set(customerId, { token, reuseUntil: now + SIGN_IN_REUSE_MS });
    return token;
  };

  /** Medusa's answer, less what is not the client's, on its way to the client as it streams. */
  const passAnswer = (answer: IncomingMessage, res: Response) => {
    const { headers } = answer;
    for (const name of Object.keys(headers))
      if (NOT_ANSWERED.has(name) || name.startsWith("access-control-")) delete headers[name];
    const cookies = headers["set-cookie"]?.filter((cookie) => cookie.split("=", 1)[0]!.trim() !== SESSION_COOKIE);
    if (cookies?.length) headers["set-cookie"] = cookies;
    else delete headers["set-cookie"];
    res.writeHead(answer.statusCode!, answer.statusMessage, headers);
    // Medusa gone mid-answer: the client's answer is cut short too, not left hanging.
    answer.once("close", () => {
      if (!answer.complete) res.destroy();
    });
    answer.pipe(res);
  };

  return (req, res, next) => {
    res.locals.route = FORWARDED_ROUTE;
    // The raw target, as the client sent it: Express decodes and normalises nothing in it.
    if (hasDotSegment(req.originalUrl)) {
      return next(
        new MedusaError(
          "invalid_data",
          'The request path has a "." or ".." segment (possibly percent-encoded): such paths are not forwarded.',
        ),
      );
    }
    // A cross-site request signed in by the cookie never gets here (refuseCrossSiteSession).
    const customerId = customerIdOf(res as Response);
    const signInBySession = customerId !== undefined && signedInBySession(res);
    // The request's own headers, edited and handed on as they are.
    const { headers } = req;
    for (const name of NOT_FORWARDED) delete headers[name];
    setForwardedHeaders(req);
    const requestId = res.getHeader("x-request-id");
    if (typeof requestId === "string") headers["x-request-id"] = requestId;
    if (headers.cookie) {
      const cookies = withoutCookie(headers.cookie, SESSION_COOKIE);
      if (cookies) headers.cookie = cookies;
      else delete headers.cookie;
    }
    if (signInBySession) headers.authorization = `Bearer ${signInFor(customerId)}`;

    const upstream = send({
      agent,
      hostname,
      port: target.port,
      method: req.method,
      path: pathPrefix + req.originalUrl,
      headers,
    });
    /** Answered by ordergate already (413), or the client is gone: a failure of the request to Medusa is nobody's news. */
    let settled = false;
    // Until Medusa starts its answer: a long answer may then stream for as long as it takes.
    upstream.setTimeout(options.timeoutMs, () => upstream.destroy(new MedusaTimeoutError()));
    upstream.once("response", (answer) => {
      upstream.setTimeout(0);
      if (!settled) passAnswer(answer, res);
      else answer.destroy();
    });
    upstream.on("error", (error) => {
      if (settled) return;
      settled = true;
      const timedOut = error instanceof MedusaTimeoutError;
      logger.warn(timedOut ? "Medusa did not answer in time" : "Medusa could not be reached", {
        reason: (error as NodeJS.ErrnoException).code ?? error.message,
      });
      // An answer already on its way can only be cut short.
      if (res.headersSent) return void res.destroy();
      const failure = medusaFailureAnswer(timedOut, options.timeoutMs);
      res
        .writeHead(failure.status, { "content-type": "application/json; charset=utf-8" })
        .end(JSON.stringify(failure.body));
    });
    // A client that hangs up: Medusa's request (and connection) goes with it, not kept streaming to no one.
    res.once("close", () => {
      if (res.writableFinished) return;
      settled = true;
      upstream.destroy();
    });

    // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3).
    if (headers["content-length"] === undefined && headers["transfer-encoding"] === undefined)
      return void upstream.end();
    watchStreamedBody(req, STORE_BODY_LIMIT_BYTES, () => {
      // Past the limit: Medusa's request is aborted (never completed), the client answered 413.
      settled = true;
      upstream.destroy();
      req.unpipe();
      // The rest of the body is read and dropped until the connection closes after the answer.
      req.resume();
      logger.info("a forwarded request's body passed the limit; the request to Medusa was aborted", {
        limitBytes: STORE_BODY_LIMIT_BYTES,
      });
      // Medusa's answer under way can only be cut short.
      if (res.headersSent) return void res.destroy();
      res.set("Connection", "close");
      sendMedusaError(res, bodyTooLarge(STORE_BODY_LIMIT_BYTES));
    });
    req.pipe(upstream);
  };
}
