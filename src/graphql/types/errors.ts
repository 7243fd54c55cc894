import { GraphQLError } from "graphql";
import {
  AccountRequiredError,
  ClaimEmailsWithheldError,
  ClaimNotFoundError,
  ClaimTokenExpiredError,
  ClaimTokenInvalidError,
  ClaimTokenUsedError,
  DomainError,
  EmailTakenError,
  InvalidCredentialsError,
  InvalidInputError,
  NotAuthenticatedError,
  AddressNotInRegionError,
  CartCompletedError,
  DiscountNotApplicableError,
  OutOfStockError,
  StoreNotConnectedError,
  StoreNotFoundError,
  StoreRejectedError,
  StoreUnavailableError,
} from "../../domain/errors";
import { builder } from "../builder";

export const ErrorInterface = builder.interfaceRef<DomainError>("Error").implement({
  description: "An expected failure. `code` is stable; `message` is for people.",
  fields: (t) => ({
    message: t.exposeString("message"),
    code: t.exposeString("code"),
  }),
});

/** Registers a domain error class as a GraphQL error type (Pothos errors plugin). */
function errorType(errorClass: new (...args: any[]) => DomainError, name: string, description: string) {
  builder.objectType(errorClass, {
    name,
    description,
    interfaces: [ErrorInterface],
    isTypeOf: (value) => value instanceof errorClass,
  });
}

errorType(
  NotAuthenticatedError,
  "NotAuthenticatedError",
  "The operation needs a signed-in customer: a store JWT in `Authorization: Bearer` (WebSocket: " +
    "`connectionParams.authorization`), or over HTTP the session cookie of `POST /store/auth`.",
);
errorType(AccountRequiredError, "AccountRequiredError", "The signed-in customer is a guest record without an account.");
errorType(
  ClaimTokenInvalidError,
  "ClaimTokenInvalidError",
  "No open claim has this token (mistyped, never issued, or replaced by a newer request).",
);
errorType(ClaimTokenExpiredError, "ClaimTokenExpiredError", "The claim token expired before it was used.");
errorType(ClaimTokenUsedError, "ClaimTokenUsedError", "The claim token was already used (to confirm or to decline).");
errorType(
  ClaimNotFoundError,
  "ClaimNotFoundError",
  "No claim of yours has this id (another customer's is not told apart).",
);
errorType(
  EmailTakenError,
  "EmailTakenError",
  "A customer with this email already has an account (a guest record with it does not count).",
);
errorType(
  InvalidCredentialsError,
  "InvalidCredentialsError",
  "The email or password is incorrect (the same answer for an unknown email).",
);

builder.objectType(InvalidInputError, {
  name: "InvalidInputError",
  description: "An argument was refused; `field` names it.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidInputError,
  fields: (t) => ({ field: t.exposeString("field") }),
});

builder.objectType(ClaimEmailsWithheldError, {
  name: "ClaimEmailsWithheldError",
  description:
    "Nothing was opened: an address the request concerns had its hourly share of claim emails " +
    "(from you, or from everyone " +
    "together). " +
    "It names no order or address; try again after `retryAfterSeconds`.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ClaimEmailsWithheldError,
  fields: (t) => ({ retryAfterSeconds: t.exposeInt("retryAfterSeconds") }),
});

errorType(
  StoreNotConnectedError,
  "StoreNotConnectedError",
  "No store is behind this gateway (MEDUSA_URL is not set): the storefront fields are not available.",
);
errorType(
  StoreUnavailableError,
  "StoreUnavailableError",
  "The store (Medusa) could not be reached, failed, or did not answer within MEDUSA_TIMEOUT. Try again shortly; " +
    "a change whose answer was lost may have been made all the same, so read the cart before repeating it.",
);

/** Medusa's refusals: `message` is Medusa's own; `medusaType` its error type. */
function storeRefusalType(errorClass: new (...args: any[]) => StoreRejectedError, name: string, description: string) {
  builder.objectType(errorClass, {
    name,
    description,
    interfaces: [ErrorInterface],
    // Exactly this class: every refusal is also a StoreRejectedError.
    isTypeOf: (value) => value instanceof StoreRejectedError && value.constructor === errorClass,
    fields: (t) => ({
      medusaType: t.exposeString("medusaType", {
        description: "Medusa's error type (invalid_data, not_allowed, ...).",
      }),
    }),
  });
}

storeRefusalType(
  StoreNotFoundError,
  "StoreNotFoundError",
  "The store knows no such cart, line, variant, shipping option or discount code.",
);
storeRefusalType(OutOfStockError, "OutOfStockError", "The store has too few in stock for the quantity asked for.");
storeRefusalType(
  AddressNotInRegionError,
  "AddressNotInRegionError",
  "The address's country is not one of the cart's region.",
);
storeRefusalType(
  DiscountNotApplicableError,
  "DiscountNotApplicableError",
  "The discount code exists but does not apply to this cart (its region, dates, usage or conditions).",
);
storeRefusalType(
  CartCompletedError,
  "CartCompletedError",
  "The cart was completed (it is an order now) and cannot change.",
);
storeRefusalType(
  StoreRejectedError,
  "StoreRejectedError",
  "The store refused the request for another reason, in its own words (`message`).",
);

/**
 * An expected failure where no typed result can carry it (a subscription stream): a GraphQL error
 * with the same stable `extensions.code`. Not signed in is also HTTP 401 when nothing was sent yet.
 */
export function domainGraphQLError(error: DomainError): GraphQLError {
  const http = error instanceof NotAuthenticatedError ? { http: { status: 401 } } : {};
  const field = error instanceof InvalidInputError ? { field: error.field } : {};
  return new GraphQLError(error.message, { extensions: { code: error.code, ...field, ...http } });
}
