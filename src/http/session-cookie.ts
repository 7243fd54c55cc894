import type { Response } from "express";
import { SESSION_COOKIE, SESSION_TTL_MS } from "../services/auth-service";

/** The session cookie, as Medusa's express-session sets it: HTTP-only, SameSite=Lax, Secure in production. */
export function setSessionCookie(res: Response, token: string, secure: boolean): void {
  res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: "lax", secure, maxAge: SESSION_TTL_MS, path: "/" });
}

export function clearSessionCookie(res: Response): void {
  res.clearCookie(SESSION_COOKIE, { path: "/" });
}
