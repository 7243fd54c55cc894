import { hashClaimToken } from "../../src/domain/claim-token";
import { readClaims } from "./database";
import type { SmtpSink } from "./smtp-sink";

export interface MailReport {
  claimsOpened: number;
  /** Superseded claims may rightly get no email (one dropped before sending); see ClaimPlan for when they happen. */
  superseded: number;
  /** Claims owed an email: every one not superseded. */
  owed: number;
  emailsReceived: number;
  emailsWithoutToken: number;
  /** Owed emails that had not arrived when the wait ended. */
  missing: number;
  allDelivered: boolean;
  /** When the last owed email arrived, in seconds after the last claim run ended (≤ 0: before it ended). */
  lastEmailAfterLastClaimS: number | null;
}

/**
 * Waits up to `waitMs` for an email for every claim that is owed one, matching each received
 * token to its claim by hash (the database keeps the SHA-256 of the token, never the token).
 */
export async function settleMail(
  databaseUrl: string,
  sink: SmtpSink,
  lastClaimEndedAt: number,
  waitMs: number,
): Promise<MailReport> {
  const claims = await readClaims(databaseUrl);
  const owed = new Set(claims.filter((claim) => claim.status !== "SUPERSEDED").map((claim) => claim.tokenHash));
  const arrivalByHash = new Map<string, number>();
  let hashed = 0;
  const missing = () => {
    // `arrivals` only grows, in insertion order: each token is hashed once.
    let index = 0;
    for (const [token, arrivedAt] of sink.arrivals) {
      if (index++ >= hashed) arrivalByHash.set(hashClaimToken(token), arrivedAt);
    }
    hashed = index;
    let count = 0;
    for (const hash of owed) if (!arrivalByHash.has(hash)) count++;
    return count;
  };
  const deadline = Date.now() + waitMs;
  while (missing() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const stillMissing = missing();
  let lastArrival: number | undefined;
  for (const hash of owed) {
    const arrivedAt = arrivalByHash.get(hash);
    if (arrivedAt !== undefined && (lastArrival === undefined || arrivedAt > lastArrival)) lastArrival = arrivedAt;
  }
  return {
    claimsOpened: claims.length,
    superseded: claims.length - owed.size,
    owed: owed.size,
    emailsReceived: sink.received,
    emailsWithoutToken: sink.withoutToken,
    missing: stillMissing,
    allDelivered: stillMissing === 0,
    lastEmailAfterLastClaimS:
      stillMissing === 0 && lastArrival !== undefined ? (lastArrival - lastClaimEndedAt) / 1000 : null,
  };
}
