import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";
import type { Request, RequestHandler, Response } from "express";
import { createProxyMiddleware, type Plugin } from "http-proxy-middleware";
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

/**
 * Hop-by-hop request headers (RFC 9110 §7.6.1) and `Expect` (Node has answered `100 Continue`
 * already; left on, http-proxy would also skip the hook that sets the rest up).
 */
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
 * answer back: status, headers, cookies and body as they are, streamed (http-proxy-middleware),
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
  /** Requests whose body passed the limit: what Medusa was sent of them is not to be completed. */
  const cutOff = new WeakSet<IncomingMessage>();
  /** The request to Medusa for each client request, once http-proxy has made it. */
  const upstreamOf = new WeakMap<IncomingMessage, ClientRequest>();
  /** Requests Medusa has started to answer (its headers may be on `res` before any byte is sent). */
  const answered = new WeakSet<IncomingMessage>();
  /** http-proxy's event handlers: time-out, answer filtering and error answers of the request to Medusa. */
  const proxyEventHandlers: Plugin<Request> = (proxy) => {
    proxy.on("proxyReq", (proxyReq, req) => {
      if (cutOff.has(req)) return void proxyReq.destroy();
      upstreamOf.set(req, proxyReq);
      // Until Medusa starts its answer: a long answer may then stream for as long as it takes.
      proxyReq.setTimeout(options.timeoutMs, () => proxyReq.destroy(new MedusaTimeoutError()));
      proxyReq.once("response", () => proxyReq.setTimeout(0));
    });
    proxy.on("proxyRes", (proxyRes, req, res) => {
      answered.add(req);
      for (const name of Object.keys(proxyRes.headers))
        if (name.startsWith("access-control-")) delete proxyRes.headers[name];
      const cookies = proxyRes.headers["set-cookie"]?.filter(
        (cookie) => cookie.split("=")[0]!.trim() !== SESSION_COOKIE,
      );
      if (cookies?.length) proxyRes.headers["set-cookie"] = cookies;
      else delete proxyRes.headers["set-cookie"];
      // A client that hangs up mid-answer: Medusa's connection is not kept streaming to no one.
      res.once("close", () => {
        if (!res.writableFinished) proxyRes.destroy();
      });
    });
    proxy.on("error", (error, req, res) => {
      // Cut off for its body: answered already, and the failure is the abort itself.
      if (cutOff.has(req)) return;
      const timedOut = error instanceof MedusaTimeoutError;
      logger.warn(timedOut ? "Medusa did not answer in time" : "Medusa could not be reached", {
        reason: (error as NodeJS.ErrnoException).code ?? error.message,
      });
      // (`res` is a socket only for upgrades, which never reach /store.) An answer already on its
      // way can only be cut short.
      if (!("writeHead" in res) || res.headersSent) return void res.destroy();
      const failure = medusaFailureAnswer(timedOut, options.timeoutMs);
      res
        .writeHead(failure.status, { "content-type": "application/json; charset=utf-8" })
        .end(JSON.stringify(failure.body));
    });
  };
  const target = new URL(options.medusaUrl);
  const proxy = createProxyMiddleware<Request>({
    target: options.medusaUrl,
    agent: target.protocol === "https:" ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true }),
    // http-proxy's own would append to whatever X-Forwarded-* the client sent.
    xfwd: false,
    // The default plugins answer errors with a plain-text page and log through console.
    ejectPlugins: true,
    plugins: [proxyEventHandlers],
    // Mounted under /store, Express hands the proxy the path without it.
    pathRewrite: (_path, req) => req.originalUrl,
  });

  /** The body passed the limit mid-stream: Medusa's request is aborted (never completed), the client answered 413. */
  const cutOffBody = (req: Request, res: Response) => {
    cutOff.add(req);
    upstreamOf.get(req)?.destroy();
    req.unpipe();
    // The rest of the body is read and dropped until the connection closes after the answer.
    req.resume();
    logger.info("a forwarded request's body passed the limit; the request to Medusa was aborted", {
      limitBytes: STORE_BODY_LIMIT_BYTES,
    });
    // Medusa's answer under way can only be cut short.
    if (answered.has(req) || res.headersSent) return void res.destroy();
    res.set("Connection", "close");
    sendMedusaError(res, bodyTooLarge(STORE_BODY_LIMIT_BYTES));
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
    // The request's own headers, edited before the proxy copies them.
    for (const name of NOT_FORWARDED) delete req.headers[name];
    setForwardedHeaders(req);
    const requestId = res.getHeader("x-request-id");
    if (typeof requestId === "string") req.headers["x-request-id"] = requestId;
    if (req.headers.cookie) {
      const cookies = withoutCookie(req.headers.cookie, SESSION_COOKIE);
      if (cookies) req.headers.cookie = cookies;
      else delete req.headers.cookie;
    }
    if (signInBySession)
      req.headers.authorization = `Bearer ${options.issueStoreToken(customerId, FORWARDED_SIGN_IN_TTL)}`;
    watchStreamedBody(req, STORE_BODY_LIMIT_BYTES, () => cutOffBody(req, res));
    void proxy(req, res, next);
  };
}
