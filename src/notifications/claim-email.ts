import type { MailMessage } from "./mailer";

export interface ClaimEmailInput {
  to: string;
  token: string;
  displayIds: number[];
  confirmUrlTemplate: string;
  expiresInMinutes: number;
}

const SUBJECT_MAX_NUMBERS = 3;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The email that carries a claim token to the address the orders were placed under. */
export function claimEmail(input: ClaimEmailInput): MailMessage {
  const link = input.confirmUrlTemplate.replaceAll("{token}", encodeURIComponent(input.token));
  const numbers = input.displayIds.map((id) => `#${id}`).join(", ");
  const plural = input.displayIds.length === 1 ? "order" : "orders";
  const text = [
    `Someone signed in to a customer account asked to add your ${plural} ${numbers} to their account.`,
    "",
    "If that was you, confirm it here:",
    link,
    "",
    "Or enter this code:",
    "",
    `    ${input.token}`,
    "",
    `The link works once and expires in ${input.expiresInMinutes} minutes. If it was not you, ignore this email: nothing changes.`,
  ].join("\n");
  const html = `<p>Someone signed in to a customer account asked to add your ${plural} <strong>${escapeHtml(numbers)}</strong> to their account.</p>
<p>If that was you, <a href="${escapeHtml(link)}">confirm it here</a>.</p>
<p>Or enter this code: <code>${escapeHtml(input.token)}</code></p>
<p>The link works once and expires in ${input.expiresInMinutes} minutes. If it was not you, ignore this email: nothing changes.</p>`;
  // A subject stays short however many orders the claim covers; the body lists them all.
  const subjectOrders =
    input.displayIds.length <= SUBJECT_MAX_NUMBERS ? `${plural} ${numbers}` : `${input.displayIds.length} orders`;
  return { to: input.to, subject: `Confirm adding ${subjectOrders} to your account`, text, html };
}
