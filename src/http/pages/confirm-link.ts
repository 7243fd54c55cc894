import type { Config } from "../../config";

/** ordergate's own confirm page, the email's link unless CLAIM_CONFIRM_URL names a storefront's. */
export const CONFIRM_PAGE_PATH = "/claim/confirm";
/** Where the confirm page's Decline button posts. */
export const DECLINE_PAGE_PATH = "/claim/decline";

/**
 * The email's link, `{token}` to be replaced: CLAIM_CONFIRM_URL, else the confirm page under
 * PUBLIC_URL, else under the address the server listens at (`http://localhost:9000` by default;
 * known only once it listens, which matters for PORT=0).
 */
export function claimConfirmUrlTemplate(
  config: Pick<Config, "publicUrl" | "claimConfirmUrl">,
  listeningUrl: string,
): string {
  return config.claimConfirmUrl ?? `${config.publicUrl ?? listeningUrl}${CONFIRM_PAGE_PATH}?token={token}`;
}
