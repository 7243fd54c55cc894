import type { GraphiQLOptions } from "graphql-yoga";

const SIGN_IN = `# ordergate's GraphQL API: three tabs walk
# through a claim.
#  1. Sign in (this tab): run it (the pink
#     button), then copy \`token\` from the result.
#  2. Claim orders: paste the token into that
#     tab's Headers panel, below the editor:
#     {"Authorization": "Bearer <token>"}
#     and run it. A one-time link is emailed to
#     the address the orders were placed under.
#  3. Watch claims: the same header; statuses
#     arrive as they change.
# Signed in on the /claim page (its session
# cookie), no header is needed.
# Demo customer: ann@example.com, "correct horse".

mutation {
  logIn(email: "ann@example.com", password: "correct horse") {
    __typename
    ... on SignedIn {
      token
      customer { id email }
    }
    ... on Error { code message }
  }
}
`;

const CLAIM_ORDERS = `# Asks to move orders placed under another
# email to the signed-in customer. Needs the
# header {"Authorization": "Bearer <token>"}
# (Headers panel, below), token from tab 1.

mutation ($orderIds: [ID!]!) {
  claimOrders(orderIds: $orderIds) {
    __typename
    ... on ClaimOrdersSuccess {
      claims { id recipientEmail status orderCount expiresAt }
    }
    ... on InvalidInputError { field }
    ... on Error { code message }
  }
}
`;

const WATCH_CLAIMS = `# The signed-in customer's claims as their
# status changes (the same header as tab 2).

subscription {
  orderClaimUpdated {
    id
    status
    recipientEmail
    expiresAt
    orders { displayId }
  }
}
`;

const CHECKOUT = `# A checkout in GraphQL, in front of Medusa
# (MEDUSA_URL; without it these answer
# STORE_NOT_CONNECTED). Run the operations in
# order: the Run button offers each by name.
# Copy the ids each one returns into the
# Variables panel below.
#  Catalog  -> regionId, variantId
#  CreateCart -> cartId (with one line)
#  Address  (a country of the region)
#  ShippingOptions -> optionId
#  Ship, Pay, then Complete -> the order

query Catalog($regionId: ID) {
  regions { id name currencyCode countries { code } }
  products(first: 5, regionId: $regionId) {
    totalCount
    edges { node { title handle
      variants { id title price { amount currencyCode } } } }
  }
}

mutation CreateCart($regionId: ID!, $variantId: ID!) {
  createCart(input: { regionId: $regionId, email: "guest@example.com",
    items: [{ variantId: $variantId, quantity: 1 }] }) { ...Result }
}

mutation Address($cartId: ID!) {
  updateCart(cartId: $cartId, input: { shippingAddress: {
    firstName: "Ann", lastName: "Lee", address1: "1 Main St",
    city: "Copenhagen", postalCode: "1000", countryCode: "dk" } }) { ...Result }
}

query ShippingOptions($cartId: ID!) {
  shippingOptions(cartId: $cartId) { id name price { amount currencyCode } }
}

mutation Ship($cartId: ID!, $optionId: ID!) {
  addShippingMethod(cartId: $cartId, optionId: $optionId) { ...Result }
}

# Mutations run one after the other: sessions, then the choice.
mutation Pay($cartId: ID!) {
  initializePayment(cartId: $cartId) { ...Result }
  selectPaymentProvider(cartId: $cartId, providerId: "manual") { ...Result }
}

mutation Complete($cartId: ID!) {
  completeCart(cartId: $cartId) {
    __typename
    ... on CompleteCartSuccess { order { id displayId email status } }
    ... on Error { code message }
  }
}

fragment Result on CartResult {
  __typename
  ... on CartSuccess { cart { id total subtotal taxTotal shippingTotal
    currencyCode items { title quantity unitPrice total } } }
  ... on Error { code message }
}
`;

// The documents are anonymous on purpose (but the checkout's, a tab of several steps): GraphiQL
// presets a tab's operation name from its document and, until its editor's debounced parse catches
// up, sends that name with whatever the editor holds ("Cannot infer operation SignIn" for a
// `{ __typename }` run at once).

const AUTHORIZATION_HEADER = JSON.stringify(
  { Authorization: "Bearer <paste the token from the Sign in tab>" },
  null,
  2,
);

/** GraphiQL's settings: the walk-through tabs above, subscriptions over SSE (as `/graphql` serves them). */
export const GRAPHIQL_OPTIONS: GraphiQLOptions = {
  title: "ordergate",
  subscriptionsProtocol: "SSE",
  defaultEditorToolsVisibility: "headers",
  defaultTabs: [
    { query: SIGN_IN },
    {
      query: CLAIM_ORDERS,
      variables: JSON.stringify({ orderIds: ["order_1001"] }, null, 2),
      headers: AUTHORIZATION_HEADER,
    },
    { query: WATCH_CLAIMS, headers: AUTHORIZATION_HEADER },
    {
      query: CHECKOUT,
      variables: JSON.stringify({ regionId: null, variantId: null, cartId: null, optionId: null }, null, 2),
    },
  ],
};

/** Pages by their options' JSON: Yoga passes a fresh copy of the same options with each request. */
const pages = new Map<string, string>();

/**
 * GraphiQL from the npm package that carries its scripts, styles and workers inline (about 9 MB),
 * so the page works on a machine without internet (Yoga's default loads them from a CDN). The
 * page is the same for every request: it is built once per set of options. The package is loaded
 * on the first request for the page, not at start: loaded, it holds some 60 MB, which a server
 * with GraphiQL off (production) should not carry.
 */
export async function renderOfflineGraphiQL(options: GraphiQLOptions): Promise<string> {
  const key = JSON.stringify(options);
  let page = pages.get(key);
  if (page === undefined) {
    const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
    pages.set(key, (page = renderGraphiQL(options)));
  }
  return page;
}
