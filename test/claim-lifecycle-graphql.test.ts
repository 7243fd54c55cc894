import { hashClaimToken } from "../src/domain/claim-token";
import { startTestGateway, type TestGateway } from "./support/gateway";
import { outboxEvents } from "./support/outbox";
import { claimScenario, defineScenario, seedScenario, storeTokenFor, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";
import { subscribe, type SubscriptionStream } from "./support/subscriptions";
import { eventually, sleep } from "./support/wait";

/**
 * The whole claim lifecycle through GraphQL (design.md §3): claimOrdersByEmail, declineOrderClaim,
 * cancelOrderClaim, and how each meets verifyOrderClaim, the outbox and orderClaimUpdated.
 */
const { customers, orders } = claimScenario;
const WORK = "ann.work@example.com";
/** An address with no order under it that masks like WORK (a***@example.com). */
const NO_ORDERS = "ann.nobody@example.com";

const HANDLE = "id status recipientEmail byEmail orderCount orders { id displayId } createdAt expiresAt verifiedAt";
const CLAIM_BY_EMAIL = `mutation ClaimByEmail($email: String!) {
  claimOrdersByEmail(email: $email) {
    __typename
    ... on ClaimOrdersSuccess { claims { ${HANDLE} } }
    ... on Error { code message }
    ... on InvalidInputError { field }
    ... on ClaimEmailsWithheldError { retryAfterSeconds }
  }
}`;
const CLAIM_ORDERS = `mutation Claim($ids: [ID!]!) {
  claimOrders(orderIds: $ids) { __typename ... on ClaimOrdersSuccess { claims { id } } ... on Error { code } }
}`;
const VERIFY = `mutation Verify($token: String!) {
  verifyOrderClaim(token: $token) {
    __typename
    ... on VerifyOrderClaimSuccess { transferredOrderIds claim { ${HANDLE} } }
    ... on Error { code message }
  }
}`;
const DECLINE = `mutation Decline($token: String!) {
  declineOrderClaim(token: $token) {
    __typename
    ... on DeclineOrderClaimSuccess { claim { ${HANDLE} } }
    ... on Error { code message }
  }
}`;
const CANCEL = `mutation Cancel($id: ID!) {
  cancelOrderClaim(id: $id) {
    __typename
    ... on CancelOrderClaimSuccess { claim { id status } }
    ... on Error { code message }
    ... on ClaimNotPendingError { status }
  }
}`;
const MY_CLAIMS = `query MyClaims { me { orderClaims(first: 20) { totalCount edges { node { ${HANDLE} } } } } }`;
const FOLLOW = `subscription Follow($claimId: ID) { orderClaimUpdated(claimId: $claimId) { id status orderCount } }`;

interface Handle {
  id: string;
  status: string;
  recipientEmail: string;
  byEmail: boolean;
  orderCount: number | null;
  orders: { id: string; displayId: number }[];
  createdAt: string;
  expiresAt: string;
  verifiedAt: string | null;
}
interface Outcome {
  __typename: string;
  code?: string;
  message?: string;
  field?: string;
  status?: string;
  retryAfterSeconds?: number;
  claims?: Handle[];
  claim?: Handle;
  transferredOrderIds?: string[];
}

const TOKEN_USED = {
  __typename: "ClaimTokenUsedError",
  code: "CLAIM_TOKEN_USED",
  message: "The claim token has already been used.",
};
const TOKEN_INVALID = {
  __typename: "ClaimTokenInvalidError",
  code: "CLAIM_TOKEN_INVALID",
  message: "The claim token is invalid.",
};
const TOKEN_EXPIRED = {
  __typename: "ClaimTokenExpiredError",
  code: "CLAIM_TOKEN_EXPIRED",
  message: "The claim token has expired. Request a new one.",
};
const NOT_AUTHENTICATED = {
  __typename: "NotAuthenticatedError",
  code: "UNAUTHENTICATED",
  message: "Sign in as a customer to do this.",
};
const NOT_FOUND = { __typename: "ClaimNotFoundError", code: "NOT_FOUND", message: "No claim of yours has this id." };

/** A handle without what differs between any two claims (id, times). */
const comparable = ({ id: _id, createdAt: _c, expiresAt: _e, ...rest }: Handle) => rest;

const fixture = useClaimFixture({ CLAIM_TOKEN_TTL: "1h" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
let bobToken: string;
beforeAll(() => {
  ({ t, mail, annToken } = fixture);
  bobToken = storeTokenFor(customers.bob.id);
});

/** Streams a test opened: closed after it. */
let streams: SubscriptionStream[] = [];
afterEach(async () => {
  await Promise.all(streams.map((stream) => stream.close()));
  streams = [];
});

async function mutate(query: string, variables: Record<string, unknown>, bearer?: string): Promise<Outcome> {
  const result = await t.graphql<Record<string, Outcome>>(query, variables, bearer);
  expect(result.errors).toBeUndefined();
  return Object.values(result.data!)[0]!;
}
/** As Ann unless another bearer is given; `null`: signed out. */
const claimByEmail = (email: string, bearer: string | null = annToken) =>
  mutate(CLAIM_BY_EMAIL, { email }, bearer ?? undefined);
const verify = (token: string) => mutate(VERIFY, { token });
const decline = (token: string) => mutate(DECLINE, { token });
const cancel = (id: string, bearer: string | null = annToken) => mutate(CANCEL, { id }, bearer ?? undefined);

/** The one claim a successful claim mutation opened. */
function openedClaim(outcome: Outcome): Handle {
  expect(outcome.__typename).toBe("ClaimOrdersSuccess");
  expect(outcome.claims).toHaveLength(1);
  return outcome.claims![0]!;
}

/** The token of the next email to arrive (one email per call: each claim is awaited before the next). */
async function nextMailedToken(): Promise<{ token: string; to: string[]; text: string }> {
  const count = mail.messages.length + 1;
  const message = (await mail.waitFor(count))[count - 1]!;
  expect(message.token).toBeDefined();
  return { token: message.token!, to: message.to, text: message.text };
}

/** Ann claims the work address's orders by email; returns the claim and its mailed token. */
async function openWorkClaim(): Promise<{ claim: Handle; token: string }> {
  const claim = openedClaim(await claimByEmail(WORK));
  return { claim, token: (await nextMailedToken()).token };
}

async function ownerOf(orderId: string): Promise<string> {
  return (await t.prisma.order.findUniqueOrThrow({ where: { id: orderId } })).customer_id;
}

async function statusOf(claimId: string): Promise<string> {
  return (await t.prisma.orderClaim.findUniqueOrThrow({ where: { id: claimId } })).status;
}

/** Follows one claim over SSE as Ann; its first result (the claim's current state) is taken and checked. */
async function followClaim(claimId: string, status = "PENDING"): Promise<SubscriptionStream> {
  const stream = await subscribe("sse", t.url, FOLLOW, { bearer: annToken, variables: { claimId } });
  streams.push(stream);
  const first = await stream.next();
  expect(first.data!.orderClaimUpdated).toMatchObject({ id: claimId, status });
  return stream;
}

/** Every outbox row of `topic`, as its payload. */
async function outboxPayloads(topic: string) {
  return (await outboxEvents(t.prisma, { topic })).map((row) => row.payload);
}

describe("claimOrdersByEmail", () => {
  it("claims the guest orders in any case, not the canceled one; confirming moves exactly those", async () => {
    const claim = openedClaim(await claimByEmail("  ANN.Work@Example.COM\t"));
    expect(comparable(claim)).toEqual({
      status: "PENDING",
      recipientEmail: "a***@example.com",
      byEmail: true,
      orderCount: null,
      orders: [],
      verifiedAt: null,
    });

    // The email goes to the normalised address and lists both case variants' orders, not the canceled one.
    const message = await nextMailedToken();
    expect(message.to).toEqual([WORK]);
    expect(message.text).toContain("#1001, #1002");
    expect(message.text).not.toContain("#1004");
    const links = await t.prisma.orderClaimOrder.findMany({
      where: { claim_id: claim.id },
      orderBy: { order_id: "asc" },
    });
    expect(links.map((link) => link.order_id)).toEqual([orders.work1.id, orders.work2.id]);

    const verified = await verify(message.token);
    expect(verified.__typename).toBe("VerifyOrderClaimSuccess");
    expect(verified.transferredOrderIds).toEqual([orders.work1.id, orders.work2.id]);
    // VERIFIED: now the count and the orders show.
    expect(verified.claim).toMatchObject({
      id: claim.id,
      status: "VERIFIED",
      byEmail: true,
      orderCount: 2,
      orders: [
        { id: orders.work1.id, displayId: 1001 },
        { id: orders.work2.id, displayId: 1002 },
      ],
    });
    expect(await ownerOf(orders.work1.id)).toBe(customers.ann.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.ann.id);
    expect(await ownerOf(orders.canceled.id)).toBe(customers.workGuest.id);
    expect(await ownerOf(orders.home.id)).not.toBe(customers.ann.id);
    expect(await ownerOf(orders.bobs.id)).toBe(customers.bob.id);

    const listed = (await t.graphql<{ me: { orderClaims: { edges: { node: Handle }[] } } }>(MY_CLAIMS, {}, annToken))
      .data!.me.orderClaims.edges;
    expect(listed.map((edge) => [edge.node.id, edge.node.status, edge.node.orderCount])).toEqual([
      [claim.id, "VERIFIED", 2],
    ]);
  });

  it("leaves out an order that is in another customer's account and the claimer's own orders", async () => {
    // One of the address's orders went into Bob's account.
    await t.prisma.order.update({ where: { id: orders.work2.id }, data: { customer_id: customers.bob.id } });
    openedClaim(await claimByEmail(WORK));
    const message = await nextMailedToken();
    expect(message.text).toContain("#1001");
    expect(message.text).not.toContain("#1002");
    expect((await verify(message.token)).transferredOrderIds).toEqual([orders.work1.id]);
    expect(await ownerOf(orders.work2.id)).toBe(customers.bob.id);

    // Bob's own address (his order is in his account) and Ann's own: a claim with no order, no email.
    for (const email of [customers.bob.email, customers.ann.email]) {
      const claim = openedClaim(await claimByEmail(email));
      expect(claim).toMatchObject({ status: "PENDING", byEmail: true, orderCount: null });
      expect(await t.prisma.orderClaimOrder.count({ where: { claim_id: claim.id } })).toBe(0);
    }
    await t.gateway.jobWorker!.flush();
    expect(mail.messages).toHaveLength(1);
    expect(await ownerOf(orders.bobs.id)).toBe(customers.bob.id);
    expect(await ownerOf(orders.annOwn.id)).toBe(customers.ann.id);
  });

  it("answers the same handle for an address without orders as with; mails only the one with orders", async () => {
    const withOrders = openedClaim(await claimByEmail(WORK));
    const withoutOrders = openedClaim(await claimByEmail(NO_ORDERS));
    expect(comparable(withoutOrders)).toEqual(comparable(withOrders));
    expect(Date.parse(withoutOrders.expiresAt) - Date.parse(withoutOrders.createdAt)).toBe(
      Date.parse(withOrders.expiresAt) - Date.parse(withOrders.createdAt),
    );
    // And so it reads later, in the customer's list.
    const listed = (
      await t.graphql<{ me: { orderClaims: { edges: { node: Handle }[] } } }>(MY_CLAIMS, {}, annToken)
    ).data!.me.orderClaims.edges.map((edge) => edge.node);
    expect(listed).toHaveLength(2);
    expect(comparable(listed[0]!)).toEqual(comparable(listed[1]!));

    await t.gateway.jobWorker!.flush();
    expect(mail.messages.map((message) => message.to)).toEqual([[WORK]]);
  });

  it("finds addresses that differ by Unicode case, İ and the Kelvin sign included", async () => {
    await seedScenario(
      t.prisma,
      defineScenario({
        customers: { unicodeGuest: { id: "cus_guest_unicode", email: "élise@exämple.com", has_account: false } },
        orders: {
          lower: { id: "order_u1", display_id: 2001, email: "élise@exämple.com", customer_id: "cus_guest_unicode" },
          upper: { id: "order_u2", display_id: 2002, email: "ÉLISE@EXÄMPLE.COM", customer_id: "cus_guest_unicode" },
          // U+212A KELVIN SIGN lower-cases to an ASCII k; U+0130 to i and a combining dot.
          kelvin: {
            id: "order_u3",
            display_id: 2003,
            email: "\u212Aate@example.com",
            customer_id: "cus_guest_unicode",
          },
          dotted: {
            id: "order_u4",
            display_id: 2004,
            email: "\u0130NC\u0130@example.com",
            customer_id: "cus_guest_unicode",
          },
          other: { id: "order_u5", display_id: 2005, email: "elise@example.com", customer_id: "cus_guest_unicode" },
        },
      }),
    );
    openedClaim(await claimByEmail("Élise@Exämple.com"));
    const elise = await nextMailedToken();
    expect(elise.to).toEqual(["élise@exämple.com"]);
    expect(elise.text).toContain("#2001, #2002");
    expect(elise.text).not.toContain("#2005");

    openedClaim(await claimByEmail("kate@example.com"));
    expect((await nextMailedToken()).text).toContain("#2003");
    openedClaim(await claimByEmail("i\u0307nci\u0307@example.com"));
    expect((await nextMailedToken()).text).toContain("#2004");
    // "inci" without the combining dots is another address.
    openedClaim(await claimByEmail("inci@example.com"));
    await t.gateway.jobWorker!.flush();
    expect(mail.messages).toHaveLength(3);
  });

  it("claims only the newest CLAIM_MAX_ORDERS orders of the address", async () => {
    const own = await startTestGateway({ SMTP_URL: mail.url, CLAIM_MAX_ORDERS: "1" });
    try {
      await seedScenario(own.prisma, claimScenario);
      const before = mail.messages.length;
      const result = await own.graphql<Record<string, Outcome>>(
        CLAIM_BY_EMAIL,
        { email: WORK },
        storeTokenFor(customers.ann.id),
      );
      expect(result.data!.claimOrdersByEmail!.__typename).toBe("ClaimOrdersSuccess");
      const [message] = (await mail.waitFor(before + 1)).slice(before);
      expect(message!.text).toContain("#1002");
      expect(message!.text).not.toContain("#1001");
    } finally {
      await own.close();
    }
  });

  describe("a second claim to the same address supersedes the first", () => {
    it("with orders: the first token no longer works, the second does", async () => {
      const first = await openWorkClaim();
      const second = openedClaim(await claimByEmail("Ann.Work@example.com"));
      const secondToken = (await nextMailedToken()).token;
      expect(await statusOf(first.claim.id)).toBe("SUPERSEDED");
      expect(await statusOf(second.id)).toBe("PENDING");
      expect(await verify(first.token)).toEqual(TOKEN_INVALID);
      expect(await decline(first.token)).toEqual(TOKEN_INVALID);
      expect((await verify(secondToken)).__typename).toBe("VerifyOrderClaimSuccess");
    });

    it("without orders, exactly the same way", async () => {
      const first = openedClaim(await claimByEmail(NO_ORDERS));
      const second = openedClaim(await claimByEmail(NO_ORDERS.toUpperCase()));
      expect(await statusOf(first.id)).toBe("SUPERSEDED");
      expect(await statusOf(second.id)).toBe("PENDING");
      const superseded = await outboxPayloads("order-claim.updated");
      expect(superseded).toContainEqual(expect.objectContaining({ claimId: first.id, status: "SUPERSEDED" }));
    });

    it("leaves one pending claim when the same claim by email arrives several times at once", async () => {
      for (const address of [WORK, NO_ORDERS]) {
        const outcomes = await Promise.all(Array.from({ length: 6 }, () => claimByEmail(address)));
        expect(outcomes.map((outcome) => outcome.__typename)).toEqual(Array(6).fill("ClaimOrdersSuccess"));
        const claims = await t.prisma.orderClaim.findMany({ where: { recipient_email: address } });
        expect(claims).toHaveLength(6);
        expect(claims.filter((claim) => claim.status === "PENDING")).toHaveLength(1);
        expect(claims.filter((claim) => claim.status === "SUPERSEDED")).toHaveLength(5);
      }
    });

    it("supersedes a pending claim by ids to that address too, and never another customer's claim", async () => {
      const byIds = (await mutate(CLAIM_ORDERS, { ids: [orders.home.id] }, annToken)).claims![0]!.id;
      const bobs = openedClaim(await claimByEmail("ann.home@example.net", bobToken));
      expect(await statusOf(byIds)).toBe("PENDING");
      openedClaim(await claimByEmail("ann.home@example.net"));
      expect(await statusOf(byIds)).toBe("SUPERSEDED");
      expect(await statusOf(bobs.id)).toBe("PENDING");
    });
  });

  describe("who may ask", () => {
    it("is a NotAuthenticatedError without sign-in, before its argument is looked at, and opens nothing", async () => {
      for (const email of [WORK, "", "not an email"]) {
        expect(await claimByEmail(email, null)).toEqual(NOT_AUTHENTICATED);
      }
      expect(await claimByEmail(WORK, "not-a-jwt")).toEqual(NOT_AUTHENTICATED);
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it("is an AccountRequiredError for a guest customer record", async () => {
      expect(await claimByEmail("ann.home@example.net", storeTokenFor(customers.workGuest.id))).toEqual({
        __typename: "AccountRequiredError",
        code: "ACCOUNT_REQUIRED",
        message: "Customer does not have an account",
      });
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });
  });

  describe("input", () => {
    it.each([
      ["empty", ""],
      ["blank", "   "],
      ["without @", "ann.example.com"],
      ["without a local part", "@example.com"],
      ["without a domain dot", "ann@example"],
      ["with two @", "ann@work@example.com"],
      ["with a space inside", "ann work@example.com"],
      ["with a NUL", "ann\u0000@example.com"],
      ["with a line break", "ann@example.com\r\nBcc: x@example.com"],
      ["with a lone surrogate (no character at all)", "\ud800ann@example.com"],
      ["over 254 characters", `${"a".repeat(250)}@example.com`],
      ["a megabyte-ish string", "a".repeat(200_000)],
    ])("refuses an address %s: InvalidInputError naming email, nothing opened", async (_name, email) => {
      expect(await claimByEmail(email)).toEqual({
        __typename: "InvalidInputError",
        code: "INVALID_INPUT",
        field: "email",
        message: "email must be an email",
      });
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it.each([
      ["a number", 42],
      ["null", null],
      ["a list", [WORK]],
    ])("refuses %s for email as a GraphQL variable error", async (_name, email) => {
      const result = await t.graphql(CLAIM_BY_EMAIL, { email }, annToken);
      expect(result.data).toBeUndefined();
      expect(result.errors![0]!.message).toMatch(/^Variable "\$email"/);
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it("accepts an internationalised address (one without orders: a claim, no email)", async () => {
      const claim = openedClaim(await claimByEmail("Ünï@exämple.com"));
      expect(claim).toMatchObject({ status: "PENDING", recipientEmail: "ü***@exämple.com", orderCount: null });
      const row = await t.prisma.orderClaim.findUniqueOrThrow({ where: { id: claim.id } });
      expect(row.recipient_email).toBe("ünï@exämple.com");
      await t.gateway.jobWorker!.flush();
      expect(mail.messages).toHaveLength(0);
    });
  });
});

describe("declineOrderClaim", () => {
  it("declines with the emailed token: DECLINED, orders stay, on the outbox and to a follower", async () => {
    const { claim, token } = await openWorkClaim();
    const stream = await followClaim(claim.id);

    const declined = await decline(token);
    expect(declined.__typename).toBe("DeclineOrderClaimSuccess");
    expect(declined.claim).toMatchObject({ id: claim.id, status: "DECLINED", orderCount: null, orders: [] });
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.workGuest.id);

    expect(await outboxPayloads("order-claim.declined")).toEqual([
      { claimId: claim.id, claimerCustomerId: customers.ann.id, status: "DECLINED", at: expect.any(String) },
    ]);
    expect((await stream.next()).data!.orderClaimUpdated).toEqual({
      id: claim.id,
      status: "DECLINED",
      orderCount: null,
    });
    expect(await stream.ended).toEqual({ kind: "complete" });
    const frames = stream.frames.join("");
    expect(frames).not.toContain(token);
    expect(frames).not.toContain(hashClaimToken(token));
  });

  it("uses the token up: verify and decline with it again are ClaimTokenUsedError, and nothing moves", async () => {
    const { token } = await openWorkClaim();
    expect((await decline(token)).__typename).toBe("DeclineOrderClaimSuccess");
    expect(await verify(token)).toEqual(TOKEN_USED);
    expect(await decline(token)).toEqual(TOKEN_USED);
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
    expect(await outboxPayloads("order-claim.declined")).toHaveLength(1);
  });

  it("cannot undo a verification: ClaimTokenUsedError, the orders stay moved", async () => {
    const { token } = await openWorkClaim();
    expect((await verify(token)).__typename).toBe("VerifyOrderClaimSuccess");
    expect(await decline(token)).toEqual(TOKEN_USED);
    expect(await ownerOf(orders.work1.id)).toBe(customers.ann.id);
  });

  it.each([
    ["empty", ""],
    ["too short", "abc"],
    ["not base64url", "!".repeat(43)],
    ["well-formed but unknown", "A".repeat(43)],
    ["huge", "A".repeat(100_000)],
  ])("answers a token that is %s with ClaimTokenInvalidError", async (_name, token) => {
    await openWorkClaim();
    expect(await decline(token)).toEqual(TOKEN_INVALID);
    expect(await t.prisma.orderClaim.count({ where: { status: "PENDING" } })).toBe(1);
  });

  it("answers an expired token with ClaimTokenExpiredError, before and after the sweep marks it", async () => {
    const { claim, token } = await openWorkClaim();
    await t.prisma.orderClaim.update({ where: { id: claim.id }, data: { expires_at: new Date(Date.now() - 1000) } });
    expect(await decline(token)).toEqual(TOKEN_EXPIRED);
    await eventually(async () => ((await statusOf(claim.id)) === "EXPIRED" ? true : undefined));
    expect(await decline(token)).toEqual(TOKEN_EXPIRED);
    expect(await verify(token)).toEqual(TOKEN_EXPIRED);
    expect(await outboxPayloads("order-claim.declined")).toEqual([]);
  });

  it("lets exactly one of a verification and a decline of the same token win when they race", async () => {
    const winners: string[] = [];
    for (let round = 0; round < 10; round++) {
      await t.prisma.order.updateMany({
        where: { id: { in: [orders.work1.id, orders.work2.id] } },
        data: { customer_id: customers.workGuest.id },
      });
      const { claim, token } = await openWorkClaim();
      const [verified, declined] = await Promise.all([verify(token), decline(token)]);
      const outcomes = [verified.__typename, declined.__typename];
      const won = outcomes.filter((name) => name.endsWith("Success"));
      expect(won).toHaveLength(1);
      // The loser is told the token was used, whichever it was.
      expect(outcomes.filter((name) => !name.endsWith("Success"))).toEqual(["ClaimTokenUsedError"]);
      const verifyWon = verified.__typename === "VerifyOrderClaimSuccess";
      winners.push(verifyWon ? "verify" : "decline");
      expect(await statusOf(claim.id)).toBe(verifyWon ? "VERIFIED" : "DECLINED");
      const expectedOwner = verifyWon ? customers.ann.id : customers.workGuest.id;
      expect(await ownerOf(orders.work1.id)).toBe(expectedOwner);
      expect(await ownerOf(orders.work2.id)).toBe(expectedOwner);
    }
    expect(winners).toHaveLength(10);
  });
});

describe("cancelOrderClaim", () => {
  it("cancels the owner's pending claim: CANCELED, token dead, on the outbox and to a follower", async () => {
    const { claim, token } = await openWorkClaim();
    const stream = await followClaim(claim.id);

    expect(await cancel(claim.id)).toEqual({
      __typename: "CancelOrderClaimSuccess",
      claim: { id: claim.id, status: "CANCELED" },
    });
    expect(await verify(token)).toEqual(TOKEN_INVALID);
    expect(await decline(token)).toEqual(TOKEN_INVALID);
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);

    expect(await outboxPayloads("order-claim.canceled")).toEqual([
      { claimId: claim.id, claimerCustomerId: customers.ann.id, status: "CANCELED", at: expect.any(String) },
    ]);
    expect((await stream.next()).data!.orderClaimUpdated).toMatchObject({ id: claim.id, status: "CANCELED" });
    expect(await stream.ended).toEqual({ kind: "complete" });
  });

  it("cancels a claim by email without orders the same way", async () => {
    const claim = openedClaim(await claimByEmail(NO_ORDERS));
    expect((await cancel(claim.id)).__typename).toBe("CancelOrderClaimSuccess");
    expect(await statusOf(claim.id)).toBe("CANCELED");
  });

  it("succeeds again for a claim already canceled, announcing it once", async () => {
    const { claim } = await openWorkClaim();
    expect((await cancel(claim.id)).__typename).toBe("CancelOrderClaimSuccess");
    expect(await cancel(claim.id)).toEqual({
      __typename: "CancelOrderClaimSuccess",
      claim: { id: claim.id, status: "CANCELED" },
    });
    expect(await outboxPayloads("order-claim.canceled")).toHaveLength(1);
  });

  it("answers another customer's claim as an unknown id: ClaimNotFoundError, claim left be", async () => {
    const { claim, token } = await openWorkClaim();
    const answers = [
      await cancel(claim.id, bobToken),
      await cancel("oclaim_does_not_exist"),
      await cancel(""),
      await cancel("oclaim_\u0000"),
    ];
    for (const answer of answers) expect(answer).toEqual(NOT_FOUND);
    expect(await statusOf(claim.id)).toBe("PENDING");
    expect((await verify(token)).__typename).toBe("VerifyOrderClaimSuccess");
  });

  it("refuses a claim that is no longer pending with ClaimNotPendingError naming what it became", async () => {
    const verified = await openWorkClaim();
    await verify(verified.token);

    await t.prisma.order.updateMany({
      where: { id: { in: [orders.work1.id, orders.work2.id] } },
      data: { customer_id: customers.workGuest.id },
    });
    const declined = await openWorkClaim();
    await decline(declined.token);

    const superseded = await openWorkClaim();
    await openWorkClaim();

    const expired = openedClaim(await claimByEmail(NO_ORDERS));
    await t.prisma.orderClaim.update({ where: { id: expired.id }, data: { expires_at: new Date(Date.now() - 1000) } });

    for (const [claim, status] of [
      [verified.claim, "VERIFIED"],
      [declined.claim, "DECLINED"],
      [superseded.claim, "SUPERSEDED"],
      [expired, "EXPIRED"],
    ] as const) {
      expect(await cancel(claim.id)).toEqual({
        __typename: "ClaimNotPendingError",
        code: "CLAIM_NOT_PENDING",
        message: `This claim is no longer pending: it is ${status}.`,
        status,
      });
    }
    expect(await outboxPayloads("order-claim.canceled")).toEqual([]);
  });

  it("is a NotAuthenticatedError without sign-in", async () => {
    const { claim } = await openWorkClaim();
    expect(await cancel(claim.id, null)).toEqual(NOT_AUTHENTICATED);
    expect(await statusOf(claim.id)).toBe("PENDING");
  });

  it("lets exactly one of a cancel and a verification win when they race", async () => {
    for (let round = 0; round < 10; round++) {
      await t.prisma.order.updateMany({
        where: { id: { in: [orders.work1.id, orders.work2.id] } },
        data: { customer_id: customers.workGuest.id },
      });
      const { claim, token } = await openWorkClaim();
      const [canceled, verified] = await Promise.all([cancel(claim.id), verify(token)]);
      const verifyWon = verified.__typename === "VerifyOrderClaimSuccess";
      if (verifyWon) {
        expect(canceled).toMatchObject({ __typename: "ClaimNotPendingError", status: "VERIFIED" });
      } else {
        expect(canceled.__typename).toBe("CancelOrderClaimSuccess");
        expect(verified).toEqual(TOKEN_INVALID);
      }
      expect(await statusOf(claim.id)).toBe(verifyWon ? "VERIFIED" : "CANCELED");
      expect(await ownerOf(orders.work1.id)).toBe(verifyWon ? customers.ann.id : customers.workGuest.id);
    }
  });
});

describe("orderClaimUpdated", () => {
  it("tells a follower of all claims DECLINED and CANCELED once each, nothing after", async () => {
    const stream = await subscribe("sse", t.url, FOLLOW, { bearer: annToken });
    streams.push(stream);
    await eventually(() => (t.gateway.services.events.openSubscriptions() > 0 ? true : undefined));

    const declined = await openWorkClaim();
    await decline(declined.token);
    const canceled = openedClaim(await claimByEmail(NO_ORDERS));
    await cancel(canceled.id);

    // Status events run in no order across jobs: a PENDING that arrives after its claim's final
    // status is dropped (never sent after a final one). Read until both final statuses came.
    const seen: Record<string, string[]> = { [declined.claim.id]: [], [canceled.id]: [] };
    const finals = () => Object.values(seen).filter((statuses) => statuses.some((s) => s !== "PENDING")).length;
    while (finals() < 2) {
      const { id, status, orderCount } = (await stream.next()).data!.orderClaimUpdated;
      expect(orderCount).toBeNull();
      seen[id]!.push(status);
    }
    expect([["PENDING", "DECLINED"], ["DECLINED"]]).toContainEqual(seen[declined.claim.id]);
    expect([["PENDING", "CANCELED"], ["CANCELED"]]).toContainEqual(seen[canceled.id]);
    await sleep(300);
    expect(stream.pending()).toEqual([]);
  });
});
