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

// The documents are anonymous on purpose: GraphiQL presets a tab's operation name from its
// document and, until its editor's debounced parse catches up, sends that name with whatever the
// editor holds ("Cannot infer operation SignIn" for a `{ __typename }` run at once).

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
