import type { OrderClaimUpdated } from "../src/events/topics";
import jwt from "jsonwebtoken";
import type { ClaimFeedMessage } from "../src/events/event-bus";
import { TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { claimScenario, storeTokenFor, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";

const { customers, orders } = claimScenario;

const CLAIM_ORDERS = `mutation Claim($ids: [ID!]!) {
  claimOrders(orderIds: $ids) {
    __typename
    ... on ClaimOrdersSuccess { claims { id status recipientEmail createdAt expiresAt verifiedAt orderCount orders { id displayId } } }
    ... on Error { code message }
    ... on InvalidInputError { field }
  }
}`;
const VERIFY = `mutation Verify($token: String!) {
  verifyOrderClaim(token: $token) {
    __typename
    ... on VerifyOrderClaimSuccess { transferredOrderIds claim { id status verifiedAt orders { id displayId email } } }
    ... on Error { code message }
  }
}`;

interface ClaimView {
  id: string;
  status: string;
  recipientEmail: string;
  expiresAt: string;
  verifiedAt: string | null;
  orderCount: number;
  orders: { id: string; displayId: number }[];
}
/** Without Redis a claim status stream carries updates only (no resyncs). */
const updateOf = (message: ClaimFeedMessage): OrderClaimUpdated => {
  if (message.kind !== "update") throw new Error(`expected an update, got ${message.kind}`);
  return message.update;
};

type ClaimResult = {
  claimOrders: { __typename: string; claims?: ClaimView[]; code?: string; message?: string; field?: string };
};
type VerifyResult = {
  verifyOrderClaim: {
    __typename: string;
    transferredOrderIds?: string[];
    claim?: { status: string; orders: unknown[] };
    code?: string;
    message?: string;
  };
};

const fixture = useClaimFixture({ CLAIM_TOKEN_TTL: "1h" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
beforeAll(() => ({ t, mail, annToken } = fixture));

describe("claimOrders", () => {
  it("returns the claims it opened (masked recipient, order count, no order details, no token), then the email verifies it", async () => {
    const started = Date.now();
    const result = await t.graphql<ClaimResult>(
      CLAIM_ORDERS,
      { ids: [orders.work1.id, orders.work2.id, orders.home.id, "order_nope"] },
      annToken,
    );
    expect(result.errors).toBeUndefined();
    const { __typename, claims } = result.data!.claimOrders;
    expect(__typename).toBe("ClaimOrdersSuccess");
    // Until verified, the orders are someone else's: nothing about them but how many.
    expect(claims!.map((c) => [c.recipientEmail, c.status, c.orderCount, c.orders])).toEqual([
      ["a***@example.net", "PENDING", 1, []],
      ["a***@example.com", "PENDING", 2, []],
    ]);
    // (A ULID may contain "1003", so display ids are looked for as the field that would carry them.)
    expect(JSON.stringify(result)).not.toMatch(/order_w|order_h|"displayId"/);
    const ttl = Date.parse(claims![0]!.expiresAt) - started;
    expect(ttl).toBeGreaterThan(59 * 60_000);
    expect(ttl).toBeLessThanOrEqual(60 * 60_000 + 5_000);

    const messages = await mail.waitFor(2);
    for (const message of messages) expect(JSON.stringify(result)).not.toContain(message.token);

    const work = messages.find((m) => m.to[0] === "ann.work@example.com")!;
    const verified = await t.graphql<VerifyResult>(VERIFY, { token: work.token });
    expect(verified.data!.verifyOrderClaim).toMatchObject({
      __typename: "VerifyOrderClaimSuccess",
      transferredOrderIds: [orders.work1.id, orders.work2.id],
      claim: {
        status: "VERIFIED",
        orders: [
          { id: orders.work1.id, displayId: 1001, email: "ann.work@example.com" },
          { id: orders.work2.id, displayId: 1002, email: "Ann.Work@Example.com" },
        ],
      },
    });
    const again = await t.graphql<VerifyResult>(VERIFY, { token: work.token });
    expect(again.data!.verifyOrderClaim).toEqual({
      __typename: "ClaimTokenUsedError",
      code: "CLAIM_TOKEN_USED",
      message: "The claim token has already been used.",
    });
  });

  it("answers an empty success when nothing is claimable", async () => {
    const result = await t.graphql<ClaimResult>(
      CLAIM_ORDERS,
      { ids: [orders.annOwn.id, orders.canceled.id, "order_nope"] },
      annToken,
    );
    expect(result.data!.claimOrders).toEqual({ __typename: "ClaimOrdersSuccess", claims: [] });
  });

  it("is a typed NotAuthenticatedError without a token", async () => {
    const result = await t.graphql<ClaimResult>(CLAIM_ORDERS, { ids: [orders.work1.id] });
    expect(result.data!.claimOrders).toMatchObject({ __typename: "NotAuthenticatedError", code: "UNAUTHENTICATED" });
  });

  it("is a NotAuthenticatedError before its arguments are looked at, and opens nothing", async () => {
    for (const ids of [[], [""], [orders.work1.id]]) {
      const result = await t.graphql<ClaimResult>(CLAIM_ORDERS, { ids });
      expect(result).toEqual({
        data: {
          claimOrders: {
            __typename: "NotAuthenticatedError",
            code: "UNAUTHENTICATED",
            message: "Sign in as a customer to do this.",
          },
        },
      });
    }
    expect(await t.prisma.orderClaim.count()).toBe(0);
  });

  it("is a typed AccountRequiredError for a guest record", async () => {
    const result = await t.graphql<ClaimResult>(
      CLAIM_ORDERS,
      { ids: [orders.home.id] },
      storeTokenFor(customers.workGuest.id),
    );
    expect(result.data!.claimOrders).toEqual({
      __typename: "AccountRequiredError",
      code: "ACCOUNT_REQUIRED",
      message: "Customer does not have an account",
    });
  });

  it("is a typed InvalidInputError naming orderIds for an empty list", async () => {
    const result = await t.graphql<ClaimResult>(CLAIM_ORDERS, { ids: [] }, annToken);
    expect(result.data!.claimOrders).toEqual({
      __typename: "InvalidInputError",
      code: "INVALID_INPUT",
      field: "orderIds",
      message: "orderIds must contain at least one order id",
    });
  });

  it("refuses a request body over 1 MB with a GraphQL-shaped 413", async () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `order_${i}`);
    const response = await t.request("POST", "/graphql", {
      body: { query: CLAIM_ORDERS, variables: { ids } },
      bearer: annToken,
    });
    expect(response.status).toBe(413);
    expect(response.json).toEqual({
      errors: [
        { message: "The request body is larger than 1048576 bytes.", extensions: { code: "PAYLOAD_TOO_LARGE" } },
      ],
    });
  });

  it("answers malformed JSON with a GraphQL error, not a crash", async () => {
    const response = await t.request("POST", "/graphql", { rawBody: '{"query": "{ me { id } }"', bearer: annToken });
    expect(response.status).toBe(400);
    expect(response.json.errors[0].message).toBe("POST body sent invalid JSON.");
  });

  it("treats a bad or expired bearer token as signed out: public operations still work", async () => {
    const expired = jwt.sign(
      { customer_id: customers.ann.id, domain: "store", exp: Math.floor(Date.now() / 1000) - 60 },
      TEST_JWT_SECRET,
    );
    for (const bearer of ["not-a-jwt", expired, `${annToken}x`]) {
      const claim = await t.graphql<ClaimResult>(CLAIM_ORDERS, { ids: [orders.work1.id] }, bearer);
      expect(claim).toEqual({
        data: {
          claimOrders: {
            __typename: "NotAuthenticatedError",
            code: "UNAUTHENTICATED",
            message: "Sign in as a customer to do this.",
          },
        },
      });
      const verify = await t.graphql<VerifyResult>(VERIFY, { token: "x".repeat(43) }, bearer);
      expect(verify.data!.verifyOrderClaim.__typename).toBe("ClaimTokenInvalidError");
      const lookup = await t.graphql<{ orderLookup: unknown }>(
        '{ orderLookup(displayId: 1001, email: "ann.work@example.com") { id } }',
        {},
        bearer,
      );
      expect(lookup).toEqual({ data: { orderLookup: { id: orders.work1.id } } });
    }
    expect(await t.prisma.orderClaim.count()).toBe(0);
  });

  it("publishes each status change, never the token", async () => {
    const statusEvents: OrderClaimUpdated[] = [];
    const statusStream = t.gateway.services.events.claimUpdates(customers.ann.id);
    // It listens from now on (a stream starts listening at its first `next()`).
    const collecting = (async () => {
      for (let i = 0; i < 2; i++) statusEvents.push(updateOf((await statusStream.next()).value));
    })();

    const result = await t.graphql<ClaimResult>(CLAIM_ORDERS, { ids: [orders.home.id] }, annToken);
    const claimId = result.data!.claimOrders.claims![0]!.id;
    const [message] = await mail.waitFor(1);
    await t.graphql<VerifyResult>(VERIFY, { token: message!.token });
    await collecting;
    await statusStream.return(undefined);

    expect(statusEvents.map((e) => [e.claimId, e.status])).toEqual([
      [claimId, "PENDING"],
      [claimId, "VERIFIED"],
    ]);
    expect(JSON.stringify(statusEvents)).not.toContain(message!.token);
  });
});

describe("queries", () => {
  it("order(id) answers only for the owner", async () => {
    const query = "query($id: ID!) { order(id: $id) { id displayId status subtotal items { title quantity total } } }";
    const own = await t.graphql<{ order: unknown }>(query, { id: orders.annOwn.id }, annToken);
    expect(own.data!.order).toEqual({
      id: orders.annOwn.id,
      displayId: 1005,
      status: "PENDING",
      subtotal: 1200,
      items: [{ title: "Coasters", quantity: 1, total: 1200 }],
    });
    const someoneElses = await t.graphql<{ order: unknown }>(query, { id: orders.bobs.id }, annToken);
    expect(someoneElses.data!.order).toBeNull();
    const anonymous = await t.graphql<{ order: unknown }>(query, { id: orders.annOwn.id });
    expect(anonymous.data!.order).toBeNull();
  });

  it("orderLookup finds a guest order by number and email", async () => {
    const query = "query($n: Int!, $e: String!) { orderLookup(displayId: $n, email: $e) { id } }";
    expect(
      (await t.graphql<{ orderLookup: unknown }>(query, { n: 1002, e: "ann.work@example.com" })).data!.orderLookup,
    ).toEqual({ id: orders.work2.id });
    expect(
      (await t.graphql<{ orderLookup: unknown }>(query, { n: 1002, e: "bob@example.com" })).data!.orderLookup,
    ).toBeNull();
    const odd = await t.graphql<{ orderLookup: unknown }>(query, { n: 1002, e: "ann.work\u0000@example.com" });
    expect(odd).toEqual({ data: { orderLookup: null } });
  });

  it("me.orderClaims lists the customer's claims newest first, filtered by status, with no token", async () => {
    const query = `query($status: [OrderClaimStatus!]) {
      me { orderClaims(first: 10, status: $status) { totalCount edges { node { id status recipientEmail orderCount orders { id } } } } }
    }`;
    type Claims = {
      me: {
        orderClaims: {
          totalCount: number;
          edges: {
            node: { id: string; status: string; recipientEmail: string; orderCount: number; orders: { id: string }[] };
          }[];
        };
      };
    };
    await t.graphql(CLAIM_ORDERS, { ids: [orders.home.id] }, annToken);
    await t.graphql(CLAIM_ORDERS, { ids: [orders.work1.id] }, annToken);
    const [home, work] = await mail
      .waitFor(2)
      .then((messages) => [
        messages.find((m) => m.to[0] === "ann.home@example.net")!,
        messages.find((m) => m.to[0] === "ann.work@example.com")!,
      ]);
    await t.graphql(VERIFY, { token: home!.token });

    const all = (await t.graphql<Claims>(query, {}, annToken)).data!.me.orderClaims;
    expect(all.totalCount).toBe(2);
    expect(
      all.edges.map((e) => [e.node.recipientEmail, e.node.status, e.node.orderCount, e.node.orders.map((o) => o.id)]),
    ).toEqual([
      ["a***@example.com", "PENDING", 1, []],
      ["a***@example.net", "VERIFIED", 1, [orders.home.id]],
    ]);
    const open = (await t.graphql<Claims>(query, { status: ["PENDING"] }, annToken)).data!.me.orderClaims;
    expect(open.edges.map((e) => e.node.status)).toEqual(["PENDING"]);
    const bobs = (await t.graphql<Claims>(query, {}, storeTokenFor(customers.bob.id))).data!.me.orderClaims;
    expect(bobs).toEqual({ totalCount: 0, edges: [] });
    expect(JSON.stringify([all, open])).not.toContain(work!.token);
  });

  it("me.orders pages newest first and filters by status", async () => {
    type Orders = {
      me: {
        orders: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string };
          edges: { node: { id: string; createdAt: string } }[];
        };
      };
    };
    const query = `query($first: Int!, $after: String, $status: [OrderStatus!]) {
      me { orders(first: $first, after: $after, status: $status) { totalCount pageInfo { hasNextPage endCursor } edges { node { id createdAt } } } }
    }`;
    // Ann claims her two work orders: she then owns three.
    await t.graphql(CLAIM_ORDERS, { ids: [orders.work1.id, orders.work2.id] }, annToken);
    await t.graphql(VERIFY, { token: (await mail.waitFor(1))[0]!.token });

    const whole = (await t.graphql<Orders>(query, { first: 10 }, annToken)).data!.me.orders;
    expect(whole.totalCount).toBe(3);
    expect(whole.edges.map((e) => e.node.id).sort()).toEqual(
      [orders.annOwn.id, orders.work1.id, orders.work2.id].sort(),
    );
    const times = whole.edges.map((e) => Date.parse(e.node.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const paged: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 3; page++) {
      const result = (await t.graphql<Orders>(query, { first: 1, after }, annToken)).data!.me.orders;
      paged.push(...result.edges.map((e) => e.node.id));
      expect(result.pageInfo.hasNextPage).toBe(page < 2);
      after = result.pageInfo.endCursor;
    }
    expect(paged).toEqual(whole.edges.map((e) => e.node.id));

    expect(
      (await t.graphql<Orders>(query, { first: 10, status: ["PENDING"] }, annToken)).data!.me.orders.totalCount,
    ).toBe(3);
    expect(
      (await t.graphql<Orders>(query, { first: 10, status: ["CANCELED", "ARCHIVED"] }, annToken)).data!.me.orders,
    ).toMatchObject({ totalCount: 0, edges: [] });
    // Bob's order never shows up in Ann's list, nor hers in his.
    const bobs = (await t.graphql<Orders>(query, { first: 10 }, storeTokenFor(customers.bob.id))).data!.me.orders;
    expect(bobs.edges.map((e) => e.node.id)).toEqual([orders.bobs.id]);
  });

  it("me is null when signed out", async () => {
    expect((await t.graphql<{ me: unknown }>("{ me { id } }")).data!.me).toBeNull();
  });
});
