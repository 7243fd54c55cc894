import type { OrderClaimStatus } from "../db/generated/prisma/enums";

/**
 * Expected failures of the domain. GraphQL exposes each as a typed error (src/graphql/types/errors.ts);
 * the REST layer maps their `code` onto Medusa's error body. Anything else is unexpected and masked.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class NotAuthenticatedError extends DomainError {
  readonly code = "UNAUTHENTICATED";
  constructor(message = "Sign in as a customer to do this.") {
    super(message);
  }
}

/** A guest customer record (no password) cannot claim orders. */
export class AccountRequiredError extends DomainError {
  readonly code = "ACCOUNT_REQUIRED";
  constructor() {
    super("Customer does not have an account");
  }
}

export class InvalidCredentialsError extends DomainError {
  readonly code = "INVALID_CREDENTIALS";
  constructor() {
    super("The email or password is incorrect.");
  }
}

/** Input the type system let through but the domain refuses; `field` names the argument. */
export class InvalidInputError extends DomainError {
  readonly code = "INVALID_INPUT";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** No live claim has this token: never issued, mistyped, or replaced by a newer request. */
export class ClaimTokenInvalidError extends DomainError {
  readonly code = "CLAIM_TOKEN_INVALID";
  constructor() {
    super("The claim token is invalid.");
  }
}

export class ClaimTokenExpiredError extends DomainError {
  readonly code = "CLAIM_TOKEN_EXPIRED";
  constructor() {
    super("The claim token has expired. Request a new one.");
  }
}

export class ClaimTokenUsedError extends DomainError {
  readonly code = "CLAIM_TOKEN_USED";
  constructor() {
    super("The claim token has already been used.");
  }
}

/** The sign-in a live subscription was opened with has expired. */
export class SignInExpiredError extends NotAuthenticatedError {
  constructor() {
    super("Your sign-in has expired. Sign in again to keep following your claims.");
  }
}

/** No claim of the signed-in customer has this id (someone else's claims are not told apart). */
export class ClaimNotFoundError extends DomainError {
  readonly code = "NOT_FOUND";
  constructor() {
    super("No claim of yours has this id.");
  }
}

/** The claim is no longer PENDING, so it cannot be canceled; `status` says what became of it. */
export class ClaimNotPendingError extends DomainError {
  readonly code = "CLAIM_NOT_PENDING";
  constructor(readonly status: OrderClaimStatus) {
    super(`This claim is no longer pending: it is ${status}.`);
  }
}

/** Registering an email that already has an account (a guest record with it does not count). */
export class EmailTakenError extends DomainError {
  readonly code = "EMAIL_TAKEN";
  constructor() {
    super("A customer with the given email already has an account. Log in instead");
  }
}

/** What a rate limit protects, in words for the refusal's message. */
const RATE_LIMITED_ACTIONS = {
  loginPerEmail: "sign-in attempts for this email",
  loginPerIp: "sign-in attempts from this address",
  registerPerIp: "sign-ups from this address",
  claimPerCustomer: "claim requests",
  claimPerRecipient: "claim emails from you to this address",
  claimPerRecipientTotal: "claim emails to this address",
  confirmPerIp: "confirmation attempts from this address",
  lookupPerIp: "order lookups from this address",
} as const;

export type RateLimitName = keyof typeof RATE_LIMITED_ACTIONS;

/** "1 second", "30 seconds": the wait a refusal's message names. */
const secondsInWords = (seconds: number) => `${seconds} second${seconds === 1 ? "" : "s"}`;

/** A rate limit refused the attempt; it may be tried again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  readonly code = "RATE_LIMITED";
  constructor(
    readonly limit: RateLimitName,
    readonly retryAfterSeconds: number,
  ) {
    super(`Too many ${RATE_LIMITED_ACTIONS[limit]}. Try again in ${secondsInWords(retryAfterSeconds)}.`);
  }
}

/**
 * A claim email would exceed an address's hourly allowance (from this customer, or from everyone
 * together), so nothing was opened. Says nothing of which orders or addresses are concerned.
 */
export class ClaimEmailsWithheldError extends DomainError {
  readonly code = "CLAIM_EMAILS_WITHHELD";
  constructor(readonly retryAfterSeconds: number) {
    super(
      "Too many claim emails went recently to an address this request concerns, so none was sent. " +
        `Try again in ${secondsInWords(retryAfterSeconds)}.`,
    );
  }
}

/** The database cannot be reached: nothing can be served until it is back (HTTP 503). */
export class ServiceUnavailableError extends DomainError {
  /** Seconds a client is asked to wait before trying again. */
  static readonly retryAfterSeconds = 1;
  readonly code = "SERVICE_UNAVAILABLE";
  constructor() {
    super("The service is temporarily unavailable. Try again shortly.");
  }
}

/** A storefront field was asked for, but no store is behind ordergate (MEDUSA_URL is not set). */
export class StoreNotConnectedError extends DomainError {
  readonly code = "STORE_NOT_CONNECTED";
  constructor() {
    super("No store is connected to this gateway (MEDUSA_URL is not set), so the storefront is not available.");
  }
}

/** The store (Medusa) could not be reached, failed, or did not answer within MEDUSA_TIMEOUT. */
export class StoreUnavailableError extends DomainError {
  readonly code = "STORE_UNAVAILABLE";
  constructor(timeoutMs?: number) {
    super(
      timeoutMs === undefined
        ? "The store is unavailable. Try again shortly."
        : `The store did not answer within ${timeoutMs / 1000} s. Try again shortly.`,
    );
  }
}

/**
 * The store refused a request (a Medusa 4xx), with Medusa's own message. The subclasses are the
 * refusals a storefront handles on their own; `medusaType` is Medusa's error type (`invalid_data`,
 * `not_allowed`, `not_found`, ...).
 */
export class StoreRejectedError extends DomainError {
  readonly code: string = "STORE_REJECTED";
  constructor(
    message: string,
    readonly medusaType: string,
  ) {
    super(message);
  }
}

/** A cart, line, variant, shipping option or discount code the store does not know. */
export class StoreNotFoundError extends StoreRejectedError {
  override readonly code = "NOT_FOUND";
}

/** Not enough stock for the quantity asked for (Medusa's `insufficient_inventory`). */
export class OutOfStockError extends StoreRejectedError {
  override readonly code = "OUT_OF_STOCK";
}

/** An address in a country outside the cart's region. */
export class AddressNotInRegionError extends StoreRejectedError {
  override readonly code = "ADDRESS_NOT_IN_REGION";
}

/** A discount code that exists but does not apply to this cart (region, dates, usage, conditions). */
export class DiscountNotApplicableError extends StoreRejectedError {
  override readonly code = "DISCOUNT_NOT_APPLICABLE";
}

/** The cart was completed (it is an order now): it can no longer change. */
export class CartCompletedError extends StoreRejectedError {
  override readonly code = "CART_COMPLETED";
  constructor() {
    super("This cart has been completed: it is an order now and can no longer change.", "not_allowed");
  }
}
