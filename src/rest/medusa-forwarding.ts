import type { Request, RequestHandler, Response } from "express";
import { createProxyMiddleware, type Plugin } from "http-proxy-middleware";
import type { Logger } from "../logger";
import { type AuthService, SESSION_COOKIE } from "../services/auth-service";
import { customerIdOf } from "./auth";

/** The label forwarded requests carry in logs and metrics (one label for every Medusa route). */
export const FORWARDED_ROUTE = "/store/* (Medusa)";

/** Medusa took longer than MEDUSA_TIMEOUT to answer (or to accept the connection). */
class MedusaTimeoutError extends Error {
  readonly code = "MEDUSA_TIMEOUT";
}

/** How long the store JWT lasts that stands in for ordergate's session cookie on a forwarded request. */
const FORWARDED_SIGN_IN_TTL = "5m" as const;

/** A `Cookie` header without ordergate's session cookie (which Medusa could not read, and need not see). */
function withoutSessionCookie(header: string): string {
  return header
    .split(";")
    .filter((pair) => pair.split("=")[0]!.trim() !== SESSION_COOKIE)
    .join(";")
    .trim();
}

/** Medusa's error body (`{ type, message }`) for a failure of the hop to Medusa itself. */
function hopFailure(timedOut: boolean, timeoutMs: number) {
  return timedOut
    ? { status: 504, body: { type: "unknown_error", code: "medusa_timeout", message: `The store backend did not answer within ${timeoutMs / 1000} s.` } }
    : { status: 502, body: { type: "unknown_error", code: "medusa_unavailable", message: "The store backend could not be reached." } };
}

/**
 * Sends every `/store` request ordergate does not answer itself to Medusa (MEDUSA_URL) and its
 * answer back: status, headers, cookies and body as they are, streamed (http-proxy-middleware).
 * What ordergate adds: `X-Forwarded-For/-Host/-Proto` and its request id; what it takes away:
 * Medusa's CORS headers (STORE_CORS is the one policy for `/store`: Medusa's would override it or
 * open `/store` to origins ordergate refuses). Medusa down or slow: 502 or 504 in Medusa's error shape.
 *
 * One login for both: a request signed in with ordergate's session cookie (`POST /store/auth`
 * is ordergate's) and no `Authorization` of its own reaches Medusa with a short store JWT for the
 * same customer instead of the cookie, so Medusa's customer routes (and its cart's customer) see
 * who is signed in. A bearer JWT is passed on as it is: both sides take the same ones.
 */
export function forwardToMedusa(
  options: { medusaUrl: string; timeoutMs: number; issueStoreToken: AuthService["issueStoreToken"] },
  logger: Logger,
): RequestHandler {
  const hop: Plugin<Request> = (proxy) => {
    proxy.on("proxyReq", (proxyReq, req, res) => {
      proxyReq.setTimeout(options.timeoutMs, () => proxyReq.destroy(new MedusaTimeoutError()));
      const requestId = res.getHeader("x-request-id");
      if (typeof requestId === "string") proxyReq.setHeader("x-request-id", requestId);
      if (req.headers.cookie) {
        const cookies = withoutSessionCookie(req.headers.cookie);
        if (cookies) proxyReq.setHeader("cookie", cookies);
        else proxyReq.removeHeader("cookie");
      }
      const customerId = customerIdOf(res as Response);
      if (customerId && !req.headers.authorization) proxyReq.setHeader("authorization", `Bearer ${options.issueStoreToken(customerId, FORWARDED_SIGN_IN_TTL)}`);
    });
    proxy.on("proxyRes", (proxyRes) => {
      for (const name of Object.keys(proxyRes.headers)) if (name.startsWith("access-control-")) delete proxyRes.headers[name];
    });
    proxy.on("error", (error, _req, res) => {
      const timedOut = error instanceof MedusaTimeoutError;
      logger.warn(timedOut ? "Medusa did not answer in time" : "Medusa could not be reached", { reason: (error as NodeJS.ErrnoException).code ?? error.message });
      // A socket (an upgrade), or an answer already on its way: all that is left is to hang up.
      if (!("writeHead" in res) || res.headersSent) return void res.destroy();
      const failure = hopFailure(timedOut, options.timeoutMs);
      res.writeHead(failure.status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(failure.body));
    });
  };
  const proxy = createProxyMiddleware<Request>({
    target: options.medusaUrl,
    xfwd: true,
    // The default plugins answer errors with a plain-text page and log through console.
    ejectPlugins: true,
    plugins: [hop],
    // Mounted under /store, Express hands the proxy the path without it.
    pathRewrite: (_path, req) => req.originalUrl,
  });
  return (req, res, next) => {
    res.locals.route = FORWARDED_ROUTE;
    void proxy(req, res, next);
  };
}
