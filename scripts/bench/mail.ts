import { hashClaimToken } from "../../src/domain/claim-token";
import { type ClaimRow, readClaims } from "./database";
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
 * When each email reached the sink, by the SHA-256 of its claim token (the database keeps the
 * hash, never the token); each token is hashed once, as it is first looked up.
 */
export class ArrivalsByHash {
  private readonly byHash = new Map<string, number>();
  private hashed = 0;

  constructor(private readonly sink: SmtpSink) {}

  /** `Date.now()` when the email of the claim with this token hash arrived, if it has. */
  get(tokenHash: string): number | undefined {
    // `arrivals` only grows, in insertion order.
    if (this.sink.arrivals.size > this.hashed) {
      let index = 0;
      for (const [token, arrivedAt] of this.sink.arrivals) {
        if (index++ >= this.hashed) this.byHash.set(hashClaimToken(token), arrivedAt);
      }
      this.hashed = index;
    }
    return this.byHash.get(tokenHash);
  }
}

/**
 * Whether the mail kept up with one claim run, from the claims it opened (created during it or by
 * its requests still in flight: runs do not overlap) and the sink's arrival times, not from the
 * outbox's drain.
 */
export interface RunMail {
  /** The run's claims, and of them those owed an email (not superseded). */
  opened: number;
  owed: number;
  /** Owed claims whose email reached the sink by the run's end plus the grace (10 s). */
  emailedInTime: number;
  /** emailedInTime / owed (1 when none was owed). */
  share: number;
  /** Owed claims opened and not yet emailed when the run ended, and at the worst moment (run and mail-out). */
  backlogAtEnd: number;
  maxBacklog: number;
}

export function runMail(claims: ClaimRow[], arrivals: ArrivalsByHash, endedAt: number, graceMs: number): RunMail {
  const owed = claims.filter((claim) => claim.status !== "SUPERSEDED");
  const arrived = owed.map((claim) => arrivals.get(claim.tokenHash));
  // Each owed claim adds one to the backlog when opened and takes it away when its email arrives.
  const events = [
    ...owed.map((claim) => [claim.createdAt, 1] as const),
    ...arrived.flatMap((at) => (at === undefined ? [] : [[at, -1] as const])),
  ].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let backlog = 0;
  let maxBacklog = 0;
  for (const [, change] of events) maxBacklog = Math.max(maxBacklog, (backlog += change));
  const emailedInTime = arrived.filter((at) => at !== undefined && at <= endedAt + graceMs).length;
  return {
    opened: claims.length,
    owed: owed.length,
    emailedInTime,
    share: owed.length === 0 ? 1 : emailedInTime / owed.length,
    backlogAtEnd: owed.filter((claim, i) => claim.createdAt <= endedAt && (arrived[i] ?? Infinity) > endedAt).length,
    maxBacklog,
  };
}

/**
 * Waits up to `waitMs` for an email for every claim that is owed one, matching each received
 * token to its claim by hash.
 */
export async function settleMail(
  databaseUrl: string,
  sink: SmtpSink,
  arrivals: ArrivalsByHash,
  lastClaimEndedAt: number,
  waitMs: number,
): Promise<MailReport> {
  const claims = await readClaims(databaseUrl);
  const owed = claims.filter((claim) => claim.status !== "SUPERSEDED").map((claim) => claim.tokenHash);
  const missing = () => owed.filter((hash) => arrivals.get(hash) === undefined).length;
  const deadline = Date.now() + waitMs;
  while (missing() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const stillMissing = missing();
  const lastArrival = owed.reduce((last, hash) => Math.max(last, arrivals.get(hash) ?? -Infinity), -Infinity);
  return {
    claimsOpened: claims.length,
    superseded: claims.length - owed.length,
    owed: owed.length,
    emailsReceived: sink.received,
    emailsWithoutToken: sink.withoutToken,
    missing: stillMissing,
    allDelivered: stillMissing === 0,
    lastEmailAfterLastClaimS: stillMissing === 0 && owed.length > 0 ? (lastArrival - lastClaimEndedAt) / 1000 : null,
  };
}
