import { OrderClaimStatus } from "../db/generated/prisma/enums";

/**
 * A claim's status as it stands at `now`: a PENDING claim past its expiry is EXPIRED, whether or
 * not the sweep has marked it yet. The one place the gateway decides expiry (SQL's sweep and
 * the confirmation's statement compare `expires_at` with the same instant).
 */
export function claimStatusAt(claim: { status: OrderClaimStatus; expiresAt: Date }, now: Date): OrderClaimStatus {
  return claim.status === OrderClaimStatus.PENDING && claim.expiresAt.getTime() <= now.getTime()
    ? OrderClaimStatus.EXPIRED
    : claim.status;
}

/**
 * Claims in any of `statuses` as they stand at `now` (claimStatusAt's rule as a Prisma filter): a
 * PENDING claim past its expiry counts as EXPIRED, not PENDING, so a filter agrees with the status
 * each claim shows.
 */
export function claimsInStatusesAt(statuses: readonly OrderClaimStatus[], now: Date) {
  const { PENDING, EXPIRED } = OrderClaimStatus;
  const stored = statuses.filter((status) => status !== PENDING);
  return {
    OR: [
      ...(stored.length > 0 ? [{ status: { in: stored } }] : []),
      ...(statuses.includes(PENDING) ? [{ status: PENDING, expires_at: { gt: now } }] : []),
      ...(statuses.includes(EXPIRED) ? [{ status: PENDING, expires_at: { lte: now } }] : []),
    ],
  };
}

/**
 * Where a claim's moved orders are, for whoever reads them: none until VERIFIED (the claimer did
 * not own them before), then those the claim transferred that the claimer still owns (an order
 * can move on later). A Prisma `order` filter, so every reader applies the same rule.
 */
export function movedOrdersStillOwned(claim: { id: string; claimer_customer_id: string }) {
  return {
    customer_id: claim.claimer_customer_id,
    claim_links: { some: { claim_id: claim.id, transferred_at: { not: null } } },
  };
}

/** The same rule as a filter of a claimer's claims' order links (reading claims with their orders). */
export function movedLinksStillOwned(claimerCustomerId: string) {
  return { transferred_at: { not: null }, order: { customer_id: claimerCustomerId } };
}

/**
 * How many orders a claim shows it covers: none (null) while a claim by email is not VERIFIED,
 * so that its handle reads the same for an address with orders and one without (design.md §3).
 */
export function visibleOrderCount(
  claim: { by_email: boolean; status: OrderClaimStatus },
  count: number,
): number | null {
  return claim.by_email && claim.status !== OrderClaimStatus.VERIFIED ? null : count;
}
