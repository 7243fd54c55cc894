import { type Request, type Response, Router } from "express";
import { z } from "zod";
import { OrderClaimStatus } from "../../db/generated/prisma/enums";
import { InvalidCredentialsError, RateLimitedError } from "../../domain/errors";
import { utcDateInWords, utcTimeInWords } from "../../domain/time-words";
import type { Services } from "../../services";
import { inProcessOperation } from "../../graphql/in-process";
import type { GraphQLServer } from "../../graphql/yoga";
import { CancelOrderClaimDocument } from "../../rest/operations.generated";
import { html, type HtmlValue } from "../../lib/html";
import type { ClaimedOrderView, CustomerClaimView } from "../../services/claim-views";
import { clearSessionCookie, sessionTokenFromCookies, setSessionCookie } from "../../lib/session-cookie";
import { pageDocument, sendMessagePage } from "./layout";
import type { FormTokens } from "./security";

export const CLAIMS_PAGE_PATH = "/claim";
/** The newest claims the page lists. */
const LISTED_CLAIMS = 20;

const STATUS_LABELS: Record<OrderClaimStatus, string> = {
  PENDING: "Waiting for confirmation",
  VERIFIED: "Confirmed",
  EXPIRED: "Expired",
  SUPERSEDED: "Replaced by a newer request",
  DECLINED: "Declined by the recipient",
  CANCELED: "Canceled by you",
};

/** An amount in the currency's minor unit, as people read it ("$15.00"); an unknown code as "1500 XYZ". */
function money(minorUnits: number, currencyCode: string): string {
  try {
    const format = new Intl.NumberFormat("en", { style: "currency", currency: currencyCode.toUpperCase() });
    return format.format(minorUnits / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${minorUnits} ${currencyCode.toUpperCase()}`;
  }
}

const ordersTable = (orders: ClaimedOrderView[]) => html`<div class="table-scroll"><table class="orders">
<caption class="muted">The orders now in your account</caption>
<thead><tr>
<th scope="col">Order</th><th scope="col">Placed</th><th scope="col">Items</th>
<th scope="col" class="amount">Subtotal</th>
</tr></thead>
<tbody>${orders.map(
  (order) =>
    html`<tr><td>#${order.displayId}</td><td>${utcDateInWords(order.createdAt)}</td><td>${order.itemCount}</td>
<td class="amount">${money(order.subtotal, order.currencyCode)}</td></tr>`,
)}</tbody>
</table></div>`;

/** Where a pending claim's Cancel button posts (`:claimId` in the path). */
const cancelPath = (claimId: string) => `${CLAIMS_PAGE_PATH}/claims/${encodeURIComponent(claimId)}/cancel`;

/**
 * One claim's card. The script replaces it whole when the claim changes (`GET /claim/claims/:id`).
 * A pending one has a Cancel button: a form (it works without the script), carrying `formToken`.
 */
function claimCard(claim: CustomerClaimView, formToken: string) {
  const status = claim.status.toLowerCase();
  // A claim by email says how many orders it covers only once confirmed (visibleOrderCount).
  const orders =
    claim.orderCount === null ? "All orders" : `${claim.orderCount} ${claim.orderCount === 1 ? "order" : "orders"}`;
  const titleId = `claim-${claim.id}-title`;
  let detail: HtmlValue;
  switch (claim.status) {
    case OrderClaimStatus.PENDING:
      detail = html`<p>An email with a link went to ${claim.recipientEmail}. The link
<span class="countdown"
  data-expires-at="${claim.expiresAt.toISOString()}">expires at ${utcTimeInWords(claim.expiresAt)}</span>.</p>
<form class="cancel-claim" method="post" action="${cancelPath(claim.id)}">
<input type="hidden" name="_csrf" value="${formToken}">
<button type="submit" class="secondary" aria-describedby="${titleId}">Cancel request</button>
</form>`;
      break;
    case OrderClaimStatus.VERIFIED:
      detail =
        claim.orders.length > 0
          ? ordersTable(claim.orders)
          : html`<p>Confirmed, but none of its orders is in your account now.</p>`;
      break;
    case OrderClaimStatus.EXPIRED:
      detail = html`<p>The link expired on ${utcTimeInWords(claim.expiresAt)} before anyone used it.
Nothing moved; ask again for a new email.</p>`;
      break;
    case OrderClaimStatus.DECLINED:
      detail = html`<p>Whoever reads ${claim.recipientEmail} declined with the email's link. Nothing moved.</p>`;
      break;
    case OrderClaimStatus.CANCELED:
      detail = html`<p>You withdrew the request; its link no longer works. Nothing moved.</p>`;
      break;
    default:
      detail = html`<p>A newer request for the same orders sent a new email; this one's link no longer works.</p>`;
  }
  const label = STATUS_LABELS[claim.status];
  const confirmed = claim.verifiedAt && html` · confirmed ${utcTimeInWords(claim.verifiedAt)}`;
  return html`<li class="card claim" id="claim-${claim.id}" data-claim-id="${claim.id}" data-status="${status}"
  data-announce="${`Orders placed under ${claim.recipientEmail}: ${label}`}">
<div class="claim-head">
<h2 id="${titleId}" tabindex="-1">${orders} placed under ${claim.recipientEmail}</h2>
<span class="status status-${status}">${label}</span>
</div>
<p class="muted">Asked ${utcTimeInWords(claim.createdAt)}${confirmed}</p>
${detail}
</li>`;
}

const claimList = (claims: CustomerClaimView[], formToken: string) =>
  claims.length > 0
    ? claims.map((claim) => claimCard(claim, formToken))
    : html`<li class="card" id="no-claims"><p>No claims yet.
Ask for orders placed under another email from the store (or GraphQL's <code>claimOrders</code>):
each address gets an email with a link, and the request shows up here.</p></li>`;

const signInInput = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(1024) });

/**
 * The customer's claims page: signed in with the session cookie of `POST /store/auth` (or the
 * small form here), it lists their claims and, with its script, follows `orderClaimUpdated` so a
 * claim confirmed anywhere flips to "Confirmed" with its orders, and an expired, declined or
 * canceled one to its status. A pending claim can be canceled here.
 */
export function claimsPage(
  services: Services,
  yoga: GraphQLServer,
  forms: FormTokens,
  options: { secureCookies: boolean; clientAddress: (req: Request) => string },
): Router {
  const router = Router();
  const cancelOrderClaim = inProcessOperation(yoga, CancelOrderClaimDocument);

  const signedInCustomer = async (req: Request) => {
    const viewer = await services.auth.identify({ sessionToken: sessionTokenFromCookies(req.headers.cookie) });
    return viewer ? services.customers.findSelf(viewer.customerId) : null;
  };

  const signInPage = (req: Request, res: Response, status: number, problem?: string, email = "") =>
    res
      .status(status)
      .type("html")
      .send(
        pageDocument({
          title: "Sign in to see your claims",
          main: html`<section class="card" aria-labelledby="page-title">
<h1 id="page-title">Sign in to see your claims</h1>
<p>Your claims are the orders placed under other emails that you asked to add to your account.
Sign in to see whether each was confirmed.</p>
${problem && html`<div class="notice bad" role="alert" id="sign-in-problem">${problem}</div>`}
<form method="post" action="${CLAIMS_PAGE_PATH}/sign-in">
<input type="hidden" name="_csrf" value="${forms.tokenFor(req, res)}">
<label for="email">Email</label>
<input type="email" id="email" name="email" autocomplete="username" required
  value="${email}"${problem && html` aria-describedby="sign-in-problem"`}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password"
  required${problem && html` aria-describedby="sign-in-problem" aria-invalid="true" autofocus`}>
<button type="submit">Sign in</button>
</form>
</section>`,
        }).markup,
      );

  router.get(CLAIMS_PAGE_PATH, async (req, res) => {
    const customer = await signedInCustomer(req);
    if (!customer) return signInPage(req, res, 200);
    const claims = await services.claimViews.ofCustomer(customer.id, LISTED_CLAIMS);
    const formToken = forms.tokenFor(req, res);
    res.type("html").send(
      pageDocument({
        title: "Your claims",
        script: "claims.js",
        header: html`<form class="inline" method="post" action="${CLAIMS_PAGE_PATH}/sign-out">
<span class="muted">${customer.email}</span>
<input type="hidden" name="_csrf" value="${formToken}">
<button type="submit" class="secondary">Sign out</button>
</form>`,
        main: html`<h1>Your claims</h1>
<p>Each request to add orders placed under another email sends that address a link. When the link is confirmed,
on any device, the request here turns to Confirmed and shows the orders, without reloading. Until then you can
cancel it: its link stops working.</p>
<p id="live-status" class="muted" role="status" aria-live="polite"></p>
<ul class="claims" id="claims">${claimList(claims, formToken)}</ul>`,
      }).markup,
    );
  });

  // The script's fragments: the list, or one claim's card, rendered as the page renders them.
  router.get(`${CLAIMS_PAGE_PATH}/claims`, async (req, res) => {
    const customer = await signedInCustomer(req);
    if (!customer) return void res.status(401).type("text").send("Signed out.");
    const claims = await services.claimViews.ofCustomer(customer.id, LISTED_CLAIMS);
    res.type("html").send(html`${claimList(claims, forms.tokenFor(req, res))}`.markup);
  });
  router.get(`${CLAIMS_PAGE_PATH}/claims/:claimId`, async (req, res) => {
    const customer = await signedInCustomer(req);
    if (!customer) return void res.status(401).type("text").send("Signed out.");
    const claim = await services.claimViews.oneOfCustomer(customer.id, String(req.params.claimId));
    if (!claim) return void res.status(404).type("text").send("No such claim.");
    res.type("html").send(claimCard(claim, forms.tokenFor(req, res)).markup);
  });

  // Cancel: a pending claim of the signed-in customer's, through `cancelOrderClaim` (as `DELETE
  // /store/customers/me/order-claims/:id`). Back to the list on success; the script posts it itself
  // and redraws the card (the status event redraws it on the customer's other pages).
  router.post(`${CLAIMS_PAGE_PATH}/claims/:claimId/cancel`, forms.protect, async (req, res) => {
    const customer = await signedInCustomer(req);
    if (!customer) return signInPage(req, res, 401, "Sign in again to cancel a request.");
    const claimId = String(req.params.claimId);
    const result = (await cancelOrderClaim({ req, customerId: customer.id }, { id: claimId })).cancelOrderClaim;
    switch (result.__typename) {
      case "CancelOrderClaimSuccess":
        return res.redirect(303, `${CLAIMS_PAGE_PATH}#claim-${encodeURIComponent(claimId)}`);
      case "ClaimNotPendingError": {
        const claim = await services.claimViews.oneOfCustomer(customer.id, claimId);
        const now = claim ? html` Its status: ${STATUS_LABELS[claim.status]}.` : "";
        return sendMessagePage(
          res,
          409,
          "This request can no longer be canceled",
          "warn",
          html`<p>It was no longer waiting for confirmation.${now}</p>
<p><a href="${CLAIMS_PAGE_PATH}">Back to your claims</a></p>`,
        );
      }
      case "NotAuthenticatedError":
        return signInPage(req, res, 401, "Sign in again to cancel a request.");
      default:
        // Unknown, or another customer's (never told apart).
        return sendMessagePage(
          res,
          404,
          "No such request",
          "bad",
          html`<p>You have no request with that id. <a href="${CLAIMS_PAGE_PATH}">Back to your claims</a></p>`,
        );
    }
  });

  router.post(`${CLAIMS_PAGE_PATH}/sign-in`, forms.protect, async (req, res) => {
    const input = signInInput.safeParse(req.body);
    if (!input.success)
      return signInPage(
        req,
        res,
        400,
        "Enter your email and password.",
        typeof req.body?.email === "string" ? req.body.email : "",
      );
    try {
      const customer = await services.auth.authenticate(
        input.data.email,
        input.data.password,
        options.clientAddress(req),
      );
      setSessionCookie(res, await services.auth.createSession(customer.id), options.secureCookies);
    } catch (error) {
      if (error instanceof InvalidCredentialsError)
        return signInPage(req, res, 401, "The email or password is incorrect.", input.data.email);
      if (error instanceof RateLimitedError) {
        res.set("Retry-After", String(error.retryAfterSeconds));
        return signInPage(req, res, 429, error.message, input.data.email);
      }
      throw error;
    }
    res.redirect(303, CLAIMS_PAGE_PATH);
  });

  router.post(`${CLAIMS_PAGE_PATH}/sign-out`, forms.protect, async (req, res) => {
    const session = sessionTokenFromCookies(req.headers.cookie);
    if (session) await services.auth.destroySession(session);
    clearSessionCookie(res);
    res.redirect(303, CLAIMS_PAGE_PATH);
  });

  return router;
}
