import type { Request, RequestHandler } from "express";
import { createProxyMiddleware, type Plugin } from "http-proxy-middleware";
import type { Logger } from "../logger";

/** The label forwarded requests carry in logs and metrics (one label for every Medusa route). */
export const FORWARDED_ROUTE = "/store/* (Medusa)";

/** Medusa took longer than MEDUSA_TIMEOUT to answer (or to accept the connection). */
class MedusaTimeoutError extends Error {
  readonly code = "MEDUSA_TIMEOUT";
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
 */
export function forwardToMedusa(options: { medusaUrl: string; timeoutMs: number }, logger: Logger): RequestHandler {
  const hop: Plugin<Request> = (proxy) => {
    proxy.on("proxyReq", (proxyReq, _req, res) => {
      proxyReq.setTimeout(options.timeoutMs, () => proxyReq.destroy(new MedusaTimeoutError()));
      const requestId = res.getHeader("x-request-id");
      if (typeof requestId === "string") proxyReq.setHeader("x-request-id", requestId);
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
