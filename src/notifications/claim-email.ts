import { emailWithVisibleCodePoints } from "../domain/email";
import { timeAgoInWords, timeUntilInWords, utcTimeInWords } from "../domain/time-words";
import { html } from "../lib/html";
import type { MailMessage } from "./mailer";

export interface ClaimEmailInput {
  to: string;
  token: string;
  displayIds: number[];
  /** The account the orders would go to: its full address and when it was created. */
  claimer: { email: string; createdAt: Date };
  confirmUrlTemplate: string;
  /**
   * Whether the link's page offers Decline: ordergate's own confirm page does, a storefront's
   * (CLAIM_CONFIRM_URL) may or may not.
   */
  linkOffersDecline: boolean;
  expiresAt: Date;
  /** When the email is written: the expiry and the account's age are told relative to it. */
  now: Date;
}

const SUBJECT_MAX_NUMBERS = 3;
/** The pages' accent colour (src/http/pages/assets/pages.css), inline: mail clients drop style sheets. */
const ACCENT = "#1d4ed8";

/**
 * The email that carries a claim token to the address the orders were placed under: a plain-text
 * part and an HTML part saying the same, the link as a button in the HTML one. Written to the
 * inbox's owner, who may not be the person asking (design.md §3): it names the asking account in
 * full, with characters outside ASCII made visible, and its age, says how to decline, and that
 * ignoring it changes nothing either.
 */
export function claimEmail(input: ClaimEmailInput): MailMessage {
  const link = input.confirmUrlTemplate.replaceAll("{token}", encodeURIComponent(input.token));
  const numbers = input.displayIds.map((id) => `#${id}`).join(", ");
  const plural = input.displayIds.length === 1 ? "order" : "orders";
  const account = emailWithVisibleCodePoints(input.claimer.email);
  const accountAge = `created ${timeAgoInWords(input.claimer.createdAt, input.now)}`;
  const lookAlikes = account.hasNonAscii
    ? "Its address contains characters outside ASCII, shown as [U+...] codes: " +
      "a look-alike of another address can hide that way."
    : "";
  const expiry =
    `The link works once and expires ${timeUntilInWords(input.expiresAt, input.now)} ` +
    `(${utcTimeInWords(input.expiresAt)}).`;
  // How to say no: on ordergate's own page, its Decline button; a storefront's page is described neutrally.
  const offersDecline = input.linkOffersDecline;
  const decline =
    "Not you, or you do not want these orders moved? " +
    (offersDecline
      ? "Open the link and choose Decline: the link then stops working."
      : "Open the link to confirm or decline.");
  const notYou =
    "If you do not know that account, you can also ignore this email: " +
    "nothing changes, and the orders stay where they are.";
  const request = `placed under this email address, to their account.`;
  const text = [
    `Someone signed in to the account ${account.text} (${accountAge}) asked to add ${plural} ${numbers}, ${request}`,
    ...(lookAlikes ? ["", lookAlikes] : []),
    "",
    "If that account is yours, review and confirm it here:",
    link,
    "",
    "Or enter this code:",
    "",
    `    ${input.token}`,
    "",
    expiry,
    "",
    decline,
    notYou,
  ].join("\n");
  const title = `Someone asked to add your ${plural} to their account`;
  const markup = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
</head>
<body style="margin:0;padding:24px 12px;background:#f4f4f5;color:#18181b;line-height:1.5;
  font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #e4e4e7;border-radius:8px;padding:24px">
<h1 style="margin:0 0 16px;font-size:20px">${title}</h1>
<p style="margin:0 0 16px">Someone signed in to the account
<strong style="word-break:break-all">${account.text}</strong> (${accountAge}) asked to add ${plural}
<strong>${numbers}</strong>, ${request}</p>
${lookAlikes && html`<p style="margin:0 0 16px">${lookAlikes}</p>`}
<p style="margin:0 0 24px">If that account is yours, review and confirm it:</p>
<table role="presentation" cellspacing="0" cellpadding="0" style="margin:0 0 24px">
<tr><td style="border-radius:6px;background:${ACCENT}">
<a href="${link}"
  style="display:inline-block;padding:12px 20px;color:#ffffff;font-weight:600;text-decoration:none;border-radius:6px"
  >Review and confirm</a>
</td></tr></table>
<p style="margin:0 0 8px">Or enter this code:</p>
<p style="margin:0 0 24px"><code
  style="font-size:15px;background:#f4f4f5;padding:4px 6px;border-radius:4px;word-break:break-all"
  >${input.token}</code></p>
<p style="margin:0 0 16px;color:#52525b;font-size:14px">${expiry}</p>
<p style="margin:0 0 8px">${decline}</p>
<p style="margin:0;color:#52525b;font-size:14px">${notYou}</p>
</div>
</body>
</html>`;
  // A subject stays short however many orders the claim covers; the body lists them all.
  const subjectOrders =
    input.displayIds.length <= SUBJECT_MAX_NUMBERS ? `${plural} ${numbers}` : `${input.displayIds.length} orders`;
  return { to: input.to, subject: `Someone asked to add ${subjectOrders} to their account`, text, html: markup.markup };
}
