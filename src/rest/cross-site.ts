import type { Request, RequestHandler, Response } from "express";
import type { Config } from "../config";
import type { Logger } from "../lib/logger";
import { signedInBySession } from "./auth";
import { MedusaError } from "./errors";

/** Where browser pages that may act with ordergate's session cookie live, besides ordergate's own origin. */
export interface SessionSites {
  /** STORE_CORS: the storefronts' origins (strings, or anchored regular expressions). */
  storeCors: Config["storeCors"];
  /** PUBLIC_URL: ordergate's own origin as people reach it (the request's own is taken too). */
  publicUrl: string | undefined;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether STORE_CORS lists this origin (the one CORS policy of `/store` and `/graphql`). */
export function storeCorsAllows(storeCors: Config["storeCors"], origin: string): boolean {
  return storeCors.some((allowed) => (typeof allowed === "string" ? allowed === origin : allowed.test(origin)));
}

/**
 * Whether a request may act with the session cookie's customer: a browser says where a request
 * comes from (`Sec-Fetch-Site`, and `Origin` on every cross-site unsafe request), so same-origin,
 * a page opened directly (`none`), ordergate's own origin and the storefronts STORE_CORS allows
 * pass; a request with neither header is not a browser's, so no other site can have sent it.
 */
function fromAllowedSite(req: Request, sites: SessionSites): boolean {
  const site = req.get("sec-fetch-site");
  if (site === "same-origin" || site === "none") return true;
  const origin = req.get("origin");
  if (origin === undefined) return site === undefined;
  const ownOrigins = [sites.publicUrl, req.host && `${req.protocol}://${req.host}`]
    .filter((own): own is string => Boolean(own))
    .map((own) => own.toLowerCase());
  return ownOrigins.includes(origin.toLowerCase()) || storeCorsAllows(sites.storeCors, origin);
}

/**
 * Refuses (403) an unsafe request that the session cookie signed in when another site sent it:
 * SameSite=Lax keeps the cookie off other sites' posts, but not off a sibling subdomain's (the
 * same "site"), nor a storefront's that STORE_CORS does not list. Runs after `identifyCustomer`,
 * for every `/store` route, forwarded ones included (there the cookie becomes a bearer JWT).
 */
export function refuseCrossSiteSession(sites: SessionSites, logger: Logger): RequestHandler {
  return (req, res: Response, next) => {
    if (SAFE_METHODS.has(req.method) || !signedInBySession(res) || fromAllowedSite(req, sites)) return next();
    const origin = req.get("origin") ?? `(none; Sec-Fetch-Site: ${req.get("sec-fetch-site")})`;
    logger.warn("refused a cross-site request signed in by the session cookie", { origin });
    next(
      new MedusaError(
        "not_allowed",
        `This request carries the session cookie but comes from another site (Origin ${origin}), ` +
          "neither ordergate's own origin nor one STORE_CORS allows.",
        {
          status: 403,
        },
      ),
    );
  };
}
