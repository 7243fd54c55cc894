import { type Request, type Response, Router } from "express";
import { CONFIRM_PAGE_PATH, DECLINE_PAGE_PATH } from "./confirm-link";
import { OrderClaimStatus } from "../../db/generated/prisma/enums";
import { InvalidCredentialsError } from "../../domain/errors";
import { timeAgoInWords, timeUntilInWords, utcTimeInWords } from "../../domain/time-words";
import type { Services } from "../../services";
import type { GraphQLServer } from "../../graphql/yoga";
import { html } from "../../lib/html";
import { inProcessOperation } from "../../graphql/in-process";
import { DeclineOrderClaimDocument, VerifyOrderClaimDocument } from "../../rest/operations.generated";
import type { TokenClaimView } from "../../services/claim-views";
import { sessionTokenFromCookies, setSessionCookie } from "../../lib/session-cookie";
import { pageDocument, sendMessagePage } from "./layout";
import type { FormTokens } from "./security";

const orderNumbers = (numbers: number[]) => numbers.map((n) => `#${n}`).join(", ");
const plural = (count: number, one: string, many: string) => (count === 1 ? one : many);

/** Where the code from the email can be entered when the link is incomplete (a GET: it changes nothing). */
const codeForm = html`<form method="get" action="${CONFIRM_PAGE_PATH}">
<label for="token">Code from the email</label>
<input type="text" id="token" name="token" autocomplete="one-time-code" required
  spellcheck="false" autocapitalize="off">
<button type="submit">Continue</button>
</form>`;

/** What a link whose claim can no longer be confirmed says, by what became of the claim. */
function unusableLinkPage(res: Response, claim: TokenClaimView | null) {
  if (!claim) {
    return sendMessagePage(
      res,
      404,
      "This link is not valid",
      "bad",
      html`<p>It may be mistyped or cut short, or a newer request for the same orders replaced it.
Use the link in the newest email, or enter its code:</p>${codeForm}`,
    );
  }
  switch (claim.status) {
    case OrderClaimStatus.VERIFIED:
      return sendMessagePage(
        res,
        410,
        "This link was already used",
        "warn",
        html`<p>${plural(claim.orderNumbers.length, "Order", "Orders")} ${orderNumbers(claim.orderNumbers)}
went to the account ${claim.claimerEmail}${claim.verifiedAt ? html` on ${utcTimeInWords(claim.verifiedAt)}` : ""}.
A link works once.</p>`,
      );
    case OrderClaimStatus.EXPIRED:
      return sendMessagePage(
        res,
        410,
        "This link has expired",
        "warn",
        html`<p>It expired on ${utcTimeInWords(claim.expiresAt)}, before it was used. Nothing changed.
To add the orders to an account, ask for them again from that account: a new email comes with a new link.</p>`,
      );
    case OrderClaimStatus.SUPERSEDED:
      return sendMessagePage(
        res,
        410,
        "This link was replaced by a newer one",
        "warn",
        html`<p>A newer request for the same orders sent another email. Use the link in that one.</p>`,
      );
    case OrderClaimStatus.DECLINED:
      return sendMessagePage(
        res,
        410,
        "You declined this request",
        "warn",
        html`<p>This link was used to decline. The orders stay where they are, and the link works no more.</p>`,
      );
    case OrderClaimStatus.CANCELED:
      return sendMessagePage(
        res,
        410,
        "This request was withdrawn",
        "warn",
        html`<p>The account that asked withdrew the request. Nothing changed: the orders stay where they are.</p>`,
      );
    default:
      // Still pending, yet refused: the account that asked can no longer take orders (closed).
      return sendMessagePage(
        res,
        410,
        "This link cannot be used",
        "warn",
        html`<p>The account that asked for these orders can no longer receive them. Nothing changed.</p>`,
      );
  }
}

/** Who the orders would go to, as the page tells it: the full address, its age, a word on look-alikes. */
function askingAccount(claim: TokenClaimView, now: Date) {
  const age = timeAgoInWords(claim.claimerCreatedAt, now);
  return html`<strong class="account">${claim.claimerEmail}</strong> (an account created ${age})`;
}

/**
 * The confirm page, where the claim email's link leads by default: GET shows what the token is
 * for and a Confirm button, and changes nothing (mail scanners open links before people do);
 * the button POSTs, through the same GraphQL operation as `POST /store/orders/customer/confirm`.
 * When the asking account has the inbox's own address, Confirm works only for someone signed in
 * to that account (design.md §3): the form then asks for its password. Decline beside it POSTs
 * `declineOrderClaim` (as `POST /store/orders/customer/decline`) with the token alone: it moves nothing.
 */
export function confirmPage(
  services: Services,
  yoga: GraphQLServer,
  forms: FormTokens,
  options: { secureCookies: boolean; clientAddress: (req: Request) => string },
): Router {
  const router = Router();
  const verifyOrderClaim = inProcessOperation(yoga, VerifyOrderClaimDocument);
  const declineOrderClaim = inProcessOperation(yoga, DeclineOrderClaimDocument);

  /** Whether the request is signed in (session cookie) as the claim's asking account. */
  const signedInAsClaimer = async (req: Request, claim: TokenClaimView) =>
    (await services.auth.identify({ sessionToken: sessionTokenFromCookies(req.headers.cookie) }))?.customerId ===
    claim.claimerCustomerId;

  const confirmForm = async (
    req: Request,
    res: Response,
    claim: TokenClaimView,
    token: string,
    status = 200,
    problem?: string,
  ) => {
    const count = claim.orderNumbers.length;
    const now = new Date();
    const passwordNeeded = claim.signInRequired && !(await signedInAsClaimer(req, claim));
    // Both forms carry the same form token (one cookie per visitor).
    const formToken = forms.tokenFor(req, res);
    const declineNote = claim.signInRequired ? " (no password needed)" : "";
    res
      .status(status)
      .type("html")
      .send(
        pageDocument({
          title: `Add your ${plural(count, "order", "orders")} to an account?`,
          main: html`<section class="card" aria-labelledby="page-title">
<h1 id="page-title">Add your ${plural(count, "order", "orders")} to an account?</h1>
<p>Someone signed in to the account ${askingAccount(claim, now)}
asked to add ${plural(count, "this order", "these orders")}, placed under this email address, to their account.</p>
${
  claim.claimerEmailHasNonAscii &&
  html`<p class="notice warn">That address contains characters outside ASCII, shown as [U+...] codes:
a look-alike of another address can hide that way.</p>`
}
<dl class="facts">
<dt>${plural(count, "Order", "Orders")}</dt><dd>${orderNumbers(claim.orderNumbers)}</dd>
<dt>Placed under</dt><dd>${claim.recipientEmail}</dd>
<dt>Goes to the account</dt><dd>${claim.claimerEmail}</dd>
<dt>Link expires</dt><dd><time datetime="${claim.expiresAt.toISOString()}">${timeUntilInWords(claim.expiresAt, now)}
(${utcTimeInWords(claim.expiresAt)})</time></dd>
</dl>
${problem && html`<div class="notice bad" role="alert" id="confirm-problem">${problem}</div>`}
${
  claim.signInRequired &&
  html`<p>That account has this inbox's own address. Anyone can register an address, so only someone signed in to
that account can confirm: ${passwordNeeded ? "enter its password." : "you are signed in to it."}
If you did not create an account with this address, someone else did. Do not confirm; decline instead.</p>`
}
<form method="post" action="${CONFIRM_PAGE_PATH}" id="confirm-form">
<input type="hidden" name="token" value="${token}">
<input type="hidden" name="_csrf" value="${formToken}">
${
  passwordNeeded &&
  html`<label for="password">Password of ${claim.claimerEmail}</label>
<input type="password" id="password" name="password" autocomplete="current-password"
  required${problem && html` aria-describedby="confirm-problem" aria-invalid="true" autofocus`}>`
}
</form>
<form method="post" action="${DECLINE_PAGE_PATH}" id="decline-form">
<input type="hidden" name="token" value="${token}">
<input type="hidden" name="_csrf" value="${formToken}">
</form>
<div class="actions">
<button type="submit" form="confirm-form">Confirm</button>
<button type="submit" form="decline-form" class="secondary" aria-describedby="decline-note">Decline</button>
</div>
<p class="muted" id="decline-note">Not your account, or you do not want the orders moved? Decline${declineNote}:
the orders stay where they are and this link stops working.</p>
</section>`,
        }).markup,
      );
  };

  router.get(CONFIRM_PAGE_PATH, async (req, res) => {
    const token = typeof req.query.token === "string" ? req.query.token.trim() : "";
    if (token === "") {
      return sendMessagePage(
        res,
        400,
        "This link is incomplete",
        "bad",
        html`<p>The link from the email ends with a code.
Open the whole link from the email, or enter the code here:</p>${codeForm}`,
      );
    }
    const claim = await services.claimViews.byToken(token);
    if (claim?.status !== OrderClaimStatus.PENDING) return unusableLinkPage(res, claim);
    await confirmForm(req, res, claim, token);
  });

  router.post(CONFIRM_PAGE_PATH, forms.protect, async (req: Request, res) => {
    const token = typeof req.body?.token === "string" ? req.body.token.trim() : "";
    const pending = await services.claimViews.byToken(token);
    if (
      pending?.status === OrderClaimStatus.PENDING &&
      pending.signInRequired &&
      !(await signedInAsClaimer(req, pending))
    ) {
      const password = typeof req.body?.password === "string" ? req.body.password : "";
      if (password === "")
        return confirmForm(req, res, pending, token, 403, "Enter the password of that account to confirm.");
      try {
        // The asking account's own address: only its password signs it in.
        const customer = await services.auth.authenticate(
          pending.claimerEmailForSignIn,
          password,
          options.clientAddress(req),
        );
        if (customer.id !== pending.claimerCustomerId) throw new InvalidCredentialsError();
        setSessionCookie(res, await services.auth.createSession(customer.id), options.secureCookies);
      } catch (error) {
        if (error instanceof InvalidCredentialsError)
          return confirmForm(req, res, pending, token, 401, "That password is not the account's. Nothing changed.");
        throw error;
      }
    }
    const result = (await verifyOrderClaim({ req, customerId: undefined }, { token })).verifyOrderClaim;
    const claim = await services.claimViews.byToken(token);
    if (result.__typename !== "VerifyOrderClaimSuccess" || !claim) return unusableLinkPage(res, claim);
    const moved = claim.movedOrderNumbers;
    const stayed = claim.orderNumbers.filter((n) => !moved.includes(n));
    const movedNote =
      moved.length === 0
        ? "No order moved."
        : html`${plural(moved.length, "Order", "Orders")} ${orderNumbers(moved)} ${plural(moved.length, "is", "are")}
now in the account ${claim.claimerEmail}.`;
    const stayedNote =
      stayed.length > 0 &&
      html`<p>${plural(stayed.length, "Order", "Orders")} ${orderNumbers(stayed)}
stayed where ${plural(stayed.length, "it was: it", "they were: they")} changed after the request
(a new email, another account, or canceled).</p>`;
    sendMessagePage(
      res,
      200,
      "Confirmed",
      "ok",
      html`<p>${movedNote}</p>
${stayedNote}
<p><a href="/claim">See your claims</a></p>`,
    );
  });

  // Decline: the token alone, never a sign-in (declining moves nothing), and only by POST like Confirm.
  router.post(DECLINE_PAGE_PATH, forms.protect, async (req: Request, res) => {
    const token = typeof req.body?.token === "string" ? req.body.token.trim() : "";
    const result = (await declineOrderClaim({ req, customerId: undefined }, { token })).declineOrderClaim;
    if (result.__typename !== "DeclineOrderClaimSuccess")
      return unusableLinkPage(res, await services.claimViews.byToken(token));
    sendMessagePage(
      res,
      200,
      "You declined",
      "ok",
      html`<p>The orders stay where they are. The account that asked sees that the request was declined,
and this link works no more.</p>`,
    );
  });

  return router;
}
