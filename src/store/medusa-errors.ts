import {
  AddressNotInRegionError,
  CartCompletedError,
  DiscountNotApplicableError,
  OutOfStockError,
  StoreNotFoundError,
  StoreRejectedError,
} from "../domain/errors";

/** Medusa v1's error body (`api/middlewares/error-handler`). */
interface MedusaErrorBody {
  type?: unknown;
  message?: unknown;
  code?: unknown;
}

/**
 * Which typed refusal a Medusa 4xx is. Medusa v1 gives a `type` and sometimes a `code`; the cases a
 * storefront handles on their own are told apart by Medusa's fixed messages (its source, 1.20.11),
 * never by anything a client wrote.
 */
type Refusal = {
  when: (body: { type: string; message: string; code?: string }) => boolean;
  as: typeof StoreRejectedError;
};
const REFUSALS: Refusal[] = [
  { when: ({ code }) => code === "insufficient_inventory", as: OutOfStockError },
  // "Shipping country must be in the cart region", "Shipping country not in region", "Billing country not in region"
  {
    when: ({ message }) => /\bcountry (must be in|not in|not available in)\b/i.test(message),
    as: AddressNotInRegionError,
  },
  // An unknown code is not found; one that exists but does not apply ("not available in current
  // region", expired, used up) is not applicable
  { when: ({ type, message }) => type === "not_found" && /^Discounts? with/i.test(message), as: StoreNotFoundError },
  { when: ({ message }) => /\bdiscount\b/i.test(message), as: DiscountNotApplicableError },
  {
    when: ({ type, message }) => type === "not_found" || /\b(has not been found|could not find)\b/i.test(message),
    as: StoreNotFoundError,
  },
];

/**
 * The typed error for Medusa's 4xx answer, with Medusa's message; undefined for a body that is not
 * Medusa's error shape (a 404 text page, passport's text 401) and for answers that are not the
 * client's doing: the caller treats those as the store failing, not as a refusal.
 */
export function storeRejection(status: number, body: unknown): StoreRejectedError | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { type, message, code } = body as MedusaErrorBody;
  if (typeof type !== "string" || typeof message !== "string") return undefined;
  // 401: Medusa refused ordergate's own credentials, not the client's doing. 409: Medusa's
  // transaction conflicts ("you may retry"): the store failing for a moment, not a refusal.
  if (status === 401 || status === 409) return undefined;
  const fields = { type, message, code: typeof code === "string" ? code : undefined };
  // "Cannot change the region of a completed cart", "Completed carts cannot be deleted"
  if (/\bcompleted carts?\b/i.test(message)) return new CartCompletedError();
  const refusal = REFUSALS.find((candidate) => candidate.when(fields));
  return new (refusal?.as ?? StoreRejectedError)(message, type);
}
