import { maskEmail } from "../domain/email";
import { ClaimEmailsWithheldError, RateLimitedError, type RateLimitName } from "../domain/errors";
import type { Logger } from "../lib/logger";
import type { RateLimiter } from "./rate-limiter";

/** A rate limit and the key one claim email counts against. */
export type Allowance = [RateLimitName, string];

/**
 * The claim emails an address may receive (design.md §3): each claimer has an allowance with each
 * address (RATE_LIMIT_CLAIM_RECIPIENT), so no one can spend another claimer's, and the address
 * has a ceiling from everyone together (RATE_LIMIT_CLAIM_RECIPIENT_TOTAL).
 */
export class RecipientAllowances {
  constructor(private readonly deps: { rateLimiter: RateLimiter; logger: Logger }) {}

  /**
   * Takes one email from each recipient's allowances, all or nothing: when any is spent, those
   * taken go back and ClaimEmailsWithheldError says when to try again (naming no address).
   */
  async take(claimerId: string, emails: string[]): Promise<Allowance[]> {
    const taken: Allowance[] = [];
    let retryAfterSeconds = 0;
    for (const email of emails) {
      const wanted: Allowance[] = [
        ["claimPerRecipient", `${claimerId} ${email}`],
        ["claimPerRecipientTotal", email],
      ];
      for (const [limit, key] of wanted) {
        try {
          await this.deps.rateLimiter.take(limit, key);
          taken.push([limit, key]);
        } catch (error) {
          if (!(error instanceof RateLimitedError)) throw error;
          retryAfterSeconds = Math.max(retryAfterSeconds, error.retryAfterSeconds);
          this.deps.logger.info("claim withheld: the address had its hourly share of claim emails", {
            recipient: maskEmail(email),
            claimerId,
            limit,
          });
        }
      }
    }
    if (retryAfterSeconds === 0) return taken;
    await this.giveBack(taken);
    throw new ClaimEmailsWithheldError(retryAfterSeconds);
  }

  /** Gives back allowances taken for emails that will not go out (nothing was opened). */
  async giveBack(allowances: Allowance[]): Promise<void> {
    await Promise.all(allowances.map(([limit, key]) => this.deps.rateLimiter.giveBack(limit, key)));
  }
}
