import crypto from "node:crypto";
import cookieParser from "cookie-parser";
import { doubleCsrf } from "csrf-csrf";
import type { Request, RequestHandler } from "express";
import { sessionTokenFromCookies } from "../../lib/session-cookie";

/**
 * What the pages may load and where they may send things: only this origin, no inline script,
 * never inside a frame (a framed Confirm button could be clicked through a decoy). The token in
 * a confirm page's URL never leaves in a Referer.
 */
const PAGE_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
};

export const pageHeaders: RequestHandler = (_req, res, next) => {
  res.set(PAGE_HEADERS);
  next();
};

/** A form was posted from another site (Fetch Metadata or Origin say so), or without a valid form token. */
export class CrossSiteRequestError extends Error {
  constructor() {
    super("This form was sent from another site, or it has expired. Open the page again and send it from there.");
  }
}

/**
 * Refuses a form posted from another site by what the browser says of it: `Sec-Fetch-Site`
 * (browsers since 2020-2023), else `Origin`, which must be this request's own host or
 * PUBLIC_URL's (a proxy may rewrite Host). Clients that send neither still need the form token.
 */
export function refuseCrossSite(publicUrl: string | undefined): RequestHandler {
  const publicHost = publicUrl ? new URL(publicUrl).host : undefined;
  return (req, _res, next) => {
    const site = req.get("sec-fetch-site");
    if (site !== undefined)
      return next(site === "same-origin" || site === "none" ? undefined : new CrossSiteRequestError());
    const origin = req.get("origin");
    if (origin === undefined) return next();
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      // `null` (a sandboxed or privacy-sensitive context) or garbage: not this site.
    }
    next(
      host !== undefined && (host === req.get("host") || host === publicHost) ? undefined : new CrossSiteRequestError(),
    );
  };
}

/**
 * The form token (double submit, signed: csrf-csrf): every page form carries one, bound to the
 * visitor's session when there is one, and posts are refused without a matching cookie. The key
 * is derived from JWT_SECRET, so every instance accepts every other's forms.
 */
export function formTokens(options: { jwtSecret: string; secureCookies: boolean }) {
  const secret = Buffer.from(
    crypto.hkdfSync("sha256", options.jwtSecret, "", "ordergate page form tokens", 32),
  ).toString("hex");
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => secret,
    getSessionIdentifier: (req) => sessionTokenFromCookies(req.headers.cookie) ?? "",
    // `__Host-` needs Secure, which a browser keeps only over HTTPS (production).
    cookieName: options.secureCookies ? "__Host-ordergate.form" : "ordergate.form",
    cookieOptions: { sameSite: "strict", secure: options.secureCookies, httpOnly: true, path: "/" },
    getCsrfTokenFromRequest: (req) => (req.body as Record<string, unknown> | undefined)?._csrf as string | undefined,
    errorConfig: { statusCode: 403, message: "invalid form token", code: "EBADCSRFTOKEN" },
  });
  return {
    /** Reads cookies (every page needs them for `tokenFor`). */
    readCookies: cookieParser(),
    /** Refuses a post without a valid token. */
    protect: doubleCsrfProtection as RequestHandler,
    /** The token for a form on this response (sets its cookie). */
    tokenFor: (req: Request, res: Parameters<typeof generateCsrfToken>[1]) => generateCsrfToken(req, res),
  };
}

export type FormTokens = ReturnType<typeof formTokens>;

/** True for csrf-csrf's refusal. */
export const isFormTokenError = (error: unknown) => (error as { code?: string }).code === "EBADCSRFTOKEN";
