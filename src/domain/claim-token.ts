import crypto from "node:crypto";

/** A claim token is 32 random bytes, base64url (43 characters). Only its SHA-256 is stored. */
export function newClaimToken(): string {
  return crypto.randomBytes(32).toString("base64url");
}

export function hashClaimToken(token: string): string {
  return crypto.createHash("sha256").update(token, "utf8").digest("hex");
}

export function looksLikeClaimToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
