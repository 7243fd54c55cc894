import http from "node:http";
import https from "node:https";
import type { Request, RequestHandler, Response } from "express";
import { createProxyMiddleware, type Plugin } from "http-proxy-middleware";
import type { Logger } from "../logger";
import { type AuthService, SESSION_COOKIE } from "../services/auth-service";
import { customerIdOf, signedInBySession } from "./auth";

/** The label forwarded requests carry in logs and metrics (one label for every Medusa route). */
export const FORWARDED_ROUTE = "/store/* (Medusa)";

/** How long the store JWT lasts that stands in for ordergate's session cookie on a forwarded request. */
const FORWARDED_SIGN_IN_TTL = "5m" as const;

/**
 * Hop-by-hop request headers (RFC 9110 §7.6.1) and `Expect` (Node has answered `100 Continue`
 * already; left on, http-proxy would also skip the hook that sets the rest up).
 */
const NOT_FORWARDED = ["connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade", "expect"];

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

/** Medusa's error body (`{ type, message }`) for a failure of the hop to Medusa itself. */
function hopFailure(timedOut: boolean, timeoutMs: number) {
  return timedOut
    ? { status: 504, body: { type: "unknown_error", code: "medusa_timeout", message: `The store backend did not answer within ${timeoutMs / 1000} s.` } }
    : { status: 502, body: { type: "unknown_error", code: "medusa_unavailable", message: "The store backend could not be reached." } };
}

/**
 * Sends every `/store` request ordergate does not answer itself to Medusa (MEDUSA_URL) and its
 * answer back: status, headers, cookies and body as they are, streamed (http-proxy-middleware),
 * over kept-alive connections. What ordergate adds: `X-Forwarded-For/-Host/-Proto` and its request
 * id; what it takes away: hop-by-hop headers, Medusa's CORS headers (STORE_CORS is the one policy
 * for `/store`: Medusa's would override it or open `/store` to origins ordergate refuses), and
 * Medusa's own session cookie, `connect.sid` (Medusa sets one on every answer; on ordergate's
 * origin that name is ordergate's session, which it would overwrite). Medusa down, or not
 * starting its answer within MEDUSA_TIMEOUT: 502 or 504 in Medusa's error shape.
 *
 * One login for both: a request signed in with ordergate's session cookie (`POST /store/auth` is
 * ordergate's) reaches Medusa with a short store JWT for that same customer in place of the cookie
 * and of any `Authorization` it carried, so Medusa sees whom ordergate sees: its customer routes
 * and a signed-in customer's cart know who it is. A bearer JWT alone is passed on as it is: both
 * sides take the same ones.
 */
export function forwardToMedusa(
  options: { medusaUrl: string; timeoutMs: number; issueStoreToken: AuthService["issueStoreToken"] },
  logger: Logger,
): RequestHandler {
  const hop: Plugin<Request> = (proxy) => {
    proxy.on("proxyReq", (proxyReq) => {
      // Until Medusa starts its answer: a long answer may then stream for as long as it takes.
      proxyReq.setTimeout(options.timeoutMs, () => proxyReq.destroy(new MedusaTimeoutError()));
      proxyReq.once("response", () => proxyReq.setTimeout(0));
    });
    proxy.on("proxyRes", (proxyRes, _req, res) => {
      for (const name of Object.keys(proxyRes.headers)) if (name.startsWith("access-control-")) delete proxyRes.headers[name];
      const cookies = proxyRes.headers["set-cookie"]?.filter((cookie) => cookie.split("=")[0]!.trim() !== SESSION_COOKIE);
      if (cookies?.length) proxyRes.headers["set-cookie"] = cookies;
      else delete proxyRes.headers["set-cookie"];
      // A client that hangs up mid-answer: Medusa's connection is not kept streaming to no one.
      res.once("close", () => {
        if (!res.writableFinished) proxyRes.destroy();
      });
    });
    proxy.on("error", (error, _req, res) => {
      const timedOut = error instanceof MedusaTimeoutError;
      logger.warn(timedOut ? "Medusa did not answer in time" : "Medusa could not be reached", { reason: (error as NodeJS.ErrnoException).code ?? error.message });
      // (`res` is a socket only for upgrades, which never reach /store.) An answer already on its
      // way can only be cut short.
      if (!("writeHead" in res) || res.headersSent) return void res.destroy();
      const failure = hopFailure(timedOut, options.timeoutMs);
      res.writeHead(failure.status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(failure.body));
    });
  };
  const target = new URL(options.medusaUrl);
  const proxy = createProxyMiddleware<Request>({
    target: options.medusaUrl,
    agent: target.protocol === "https:" ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true }),
    xfwd: true,
    // The default plugins answer errors with a plain-text page and log through console.
    ejectPlugins: true,
    plugins: [hop],
    // Mounted under /store, Express hands the proxy the path without it.
    pathRewrite: (_path, req) => req.originalUrl,
  });
  return (req, res, next) => {
    res.locals.route = FORWARDED_ROUTE;
    // The request's own headers, edited before the proxy copies them.
    for (const name of NOT_FORWARDED) delete req.headers[name];
    const requestId = res.getHeader("x-request-id");
    if (typeof requestId === "string") req.headers["x-request-id"] = requestId;
    if (req.headers.cookie) {
      const cookies = withoutCookie(req.headers.cookie, SESSION_COOKIE);
      if (cookies) req.headers.cookie = cookies;
      else delete req.headers.cookie;
    }
    const customerId = customerIdOf(res as Response);
    if (customerId && signedInBySession(res)) req.headers.authorization = `Bearer ${options.issueStoreToken(customerId, FORWARDED_SIGN_IN_TTL)}`;
    void proxy(req, res, next);
  };
}
