import { parse as parseCookies } from "cookie";
import type { Response } from "express";

/** express-session's cookie name, which Medusa v1 storefronts carry: ordergate's session cookie has it too. */
export const SESSION_COOKIE = "connect.sid";

/** The session token in a `Cookie` header, if it carries one. */
export function sessionTokenFromCookies(cookieHeader: string | undefined): string | undefined {
  return cookieHeader ? parseCookies(cookieHeader)[SESSION_COOKIE] || undefined : undefined;
}

/**
 * The session cookie, as Medusa's express-session sets it: HTTP-only, SameSite=Lax, Secure in
 * production, ending with the session.
 */
export function setSessionCookie(res: Response, session: { token: string; expiresAt: Date }, secure: boolean): void {
  res.cookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "lax",
    secure,
    expires: session.expiresAt,
    path: "/",
  });
}

export function clearSessionCookie(res: Response): void {
  res.clearCookie(SESSION_COOKIE, { path: "/" });
}
