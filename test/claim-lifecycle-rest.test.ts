import { hashClaimToken } from "../src/domain/claim-token";
import type { TestGateway, TestResponse } from "./support/gateway";
import { outboxEvents } from "./support/outbox";
import { claimScenario, storeTokenFor, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";
import { subscribe, type SubscriptionStream } from "./support/subscriptions";
import { eventually } from "./support/wait";

/**
 * The whole claim lifecycle through ordergate's own Store API routes (design.md §3):
 * POST /store/customers/me/order-claims (claim by email), POST /store/orders/customer/decline,
 * DELETE /store/customers/me/order-claims/:id and GET /store/customers/me/order-claims.
 */
const { customers, orders } = claimScenario;
const CLAIM_BY_EMAIL = "/store/customers/me/order-claims";
const CLAIMS = "/store/customers/me/order-claims";
const CLAIM_BY_IDS = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
const DECLINE = "/store/orders/customer/decline";
const claimPath = (id: string) => `${CLAIMS}/${encodeURIComponent(id)}`;
const WORK = "ann.work@example.com";
/** An address with no order under it. */
const NO_ORDERS = "ann.nobody@example.com";
const FOLLOW = `subscription Follow($claimId: ID) { orderClaimUpdated(claimId: $claimId) { id status } }`;

const INVALID = { type: "invalid_data", message: "The claim token is invalid." };
const USED = { type: "invalid_data", message: "The claim token has already been used." };
const EXPIRED = { type: "invalid_data", message: "The claim token has expired. Request a new one." };
const UNAUTHORIZED = { type: "unauthorized", message: "Unauthorized" };
const NOT_FOUND = { type: "not_found", message: "No claim of yours has this id." };
const STATUSES = "pending, verified, expired, superseded, declined, canceled";

interface ListedClaim {
  id: string;
  status: string;
  recipient_email: string;
  by_email: boolean;
  order_count: number | null;
  order_ids: string[];
  created_at: string;
  expires_at: string;
  verified_at: string | null;
}

const fixture = useClaimFixture({ CLAIM_TOKEN_TTL: "1h" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
let bobToken: string;
beforeAll(() => {
  ({ t, mail, annToken } = fixture);
  bobToken = storeTokenFor(customers.bob.id);
});

let streams: SubscriptionStream[] = [];
afterEach(async () => {
  await Promise.all(streams.map((stream) => stream.close()));
  streams = [];
});

const claimByEmail = (email: unknown, bearer = annToken) =>
  t.request("POST", CLAIM_BY_EMAIL, { bearer, body: { email } });
const confirm = (token: string) => t.request("POST", CONFIRM, { body: { token } });
const decline = (token: string) => t.request("POST", DECLINE, { body: { token } });
const cancel = (id: string, bearer = annToken) => t.request("DELETE", claimPath(id), { bearer });
const list = (query = "", bearer = annToken) => t.request("GET", `${CLAIMS}${query}`, { bearer });

function expectOk(response: TestResponse): void {
  expect({ status: response.status, body: response.json }).toEqual({ status: 200, body: {} });
}

/** The token of the next email to arrive (each claim's email is awaited before the next claim). */
async function nextMailed(): Promise<{ token: string; to: string[]; text: string }> {
  const count = mail.messages.length + 1;
  const message = (await mail.waitFor(count))[count - 1]!;
  return { token: message.token!, to: message.to, text: message.text };
}

/** The claim Ann opened last (the newest of hers). */
async function newestClaimOf(customerId = customers.ann.id) {
  return t.prisma.orderClaim.findFirstOrThrow({
    where: { claimer_customer_id: customerId },
    orderBy: [{ created_at: "desc" }, { id: "desc" }],
  });
}

/** Ann claims the work address by email; returns the claim's id and its mailed token. */
async function openWorkClaim(): Promise<{ id: string; token: string }> {
  expectOk(await claimByEmail(WORK));
  const { token } = await nextMailed();
  return { id: (await newestClaimOf()).id, token };
}

async function ownerOf(orderId: string): Promise<string> {
  return (await t.prisma.order.findUniqueOrThrow({ where: { id: orderId } })).customer_id;
}

async function statusOf(claimId: string): Promise<string> {
  return (await t.prisma.orderClaim.findUniqueOrThrow({ where: { id: claimId } })).status;
}

/** Hands the work orders back to their guest record (after a verification moved them). */
async function returnWorkOrders(): Promise<void> {
  await t.prisma.order.updateMany({
    where: { id: { in: [orders.work1.id, orders.work2.id] } },
    data: { customer_id: customers.workGuest.id },
  });
}

async function followClaim(claimId: string): Promise<SubscriptionStream> {
  const stream = await subscribe("sse", t.url, FOLLOW, { bearer: annToken, variables: { claimId } });
  streams.push(stream);
  expect((await stream.next()).data!.orderClaimUpdated).toEqual({ id: claimId, status: "PENDING" });
  return stream;
}

describe("POST /store/customers/me/order-claims (claim by email)", () => {
  it("answers 200 {}, mails both case variants' numbers (not canceled); confirm moves exactly those", async () => {
    const response = await claimByEmail(" Ann.WORK@example.com ");
    expectOk(response);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);

    const message = await nextMailed();
    expect(message.to).toEqual([WORK]);
    expect(message.text).toContain("#1001, #1002");
    expect(message.text).not.toContain("#1004");
    const claim = await newestClaimOf();
    expect(claim).toMatchObject({ status: "PENDING", by_email: true, recipient_email: WORK });

    expectOk(await confirm(message.token));
    expect(await ownerOf(orders.work1.id)).toBe(customers.ann.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.ann.id);
    expect(await ownerOf(orders.canceled.id)).toBe(customers.workGuest.id);
    expect(await ownerOf(orders.bobs.id)).toBe(customers.bob.id);
  });

  it("answers an address without orders exactly as one with them, and mails only the one with orders", async () => {
    const withOrders = await claimByEmail(WORK);
    const withoutOrders = await claimByEmail(NO_ORDERS);
    expect(withoutOrders.status).toBe(withOrders.status);
    expect(withoutOrders.text).toBe(withOrders.text);
    expect(withoutOrders.headers.get("content-type")).toBe(withOrders.headers.get("content-type"));
    expect(withOrders.status).toBe(200);

    await t.gateway.jobWorker!.flush();
    expect(mail.messages.map((message) => message.to)).toEqual([[WORK]]);
    // Both claims are there, pending, by email.
    const claims = await t.prisma.orderClaim.findMany({ orderBy: { recipient_email: "asc" } });
    expect(claims.map((c) => [c.recipient_email, c.status, c.by_email])).toEqual([
      [NO_ORDERS, "PENDING", true],
      [WORK, "PENDING", true],
    ]);
  });

  it("skips orders in an account: Bob's address opens a claim without orders and mails nothing", async () => {
    expectOk(await claimByEmail(customers.bob.email));
    expectOk(await claimByEmail(customers.ann.email));
    await t.gateway.jobWorker!.flush();
    expect(mail.messages).toEqual([]);
    expect(await t.prisma.orderClaimOrder.count()).toBe(0);
  });

  it("supersedes a pending claim to the same address, with orders: the first token is invalid", async () => {
    const first = await openWorkClaim();
    expectOk(await claimByEmail(WORK.toUpperCase()));
    const second = await nextMailed();
    expect(await statusOf(first.id)).toBe("SUPERSEDED");
    const stale = await confirm(first.token);
    expect({ status: stale.status, body: stale.json }).toEqual({ status: 400, body: INVALID });
    expectOk(await confirm(second.token));
  });

  it("supersedes the claimer's pending claim to the same address, without orders", async () => {
    expectOk(await claimByEmail(NO_ORDERS));
    const first = await newestClaimOf();
    expectOk(await claimByEmail(` ${NO_ORDERS}`));
    const second = await newestClaimOf();
    expect(second.id).not.toBe(first.id);
    expect(await statusOf(first.id)).toBe("SUPERSEDED");
    expect(await statusOf(second.id)).toBe("PENDING");
  });

  describe("authentication", () => {
    it.each([
      ["no credentials", {}],
      ["a garbage bearer token", { bearer: "not-a-jwt" }],
      ["an unknown session cookie", { cookie: "connect.sid=forged" }],
    ])("answers 401 for %s, before looking at the body", async (_name, auth) => {
      for (const rawBody of ["{not json", JSON.stringify({ email: WORK })]) {
        const response = await t.request("POST", CLAIM_BY_EMAIL, { ...auth, rawBody });
        expect({ status: response.status, body: response.json }).toEqual({ status: 401, body: UNAUTHORIZED });
      }
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it("refuses a guest customer record: 401 Customer does not have an account", async () => {
      const response = await claimByEmail(WORK, storeTokenFor(customers.workGuest.id));
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ type: "unauthorized", message: "Customer does not have an account" });
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });
  });

  describe("bad input is a 400 invalid_data that names the problem", () => {
    it.each([
      ["not an email", { email: "ann.example.com" }, "email must be an email"],
      ["a blank email", { email: "   " }, "email must be an email"],
      ["an email with a NUL", { email: "ann\u0000@example.com" }, "email must be an email"],
      ["an email with a lone surrogate", { email: "ann\udc00@example.com" }, "email must be an email"],
      ["an email over 254 characters", { email: `${"a".repeat(250)}@example.com` }, "email must be an email"],
      ["a huge string", { email: "a".repeat(90_000) }, "email must be an email"],
      ["an empty email", { email: "" }, "email should not be empty"],
      ["a missing email", {}, "email must be a string"],
      ["a null email", { email: null }, "email must be a string"],
      ["a number", { email: 42 }, "email must be a string"],
      ["a list", { email: [WORK] }, "email must be a string"],
      ["an object", { email: { address: WORK } }, "email must be a string"],
      ["an unknown property", { email: WORK, order_ids: [orders.work1.id] }, "property order_ids should not exist"],
      ["a JSON array body", [WORK], "The request body must be a JSON object."],
      ["a JSON string body", WORK, "The request body must be a JSON object."],
    ])("%s", async (_name, body, message) => {
      const response = await t.request("POST", CLAIM_BY_EMAIL, { bearer: annToken, body });
      expect({ status: response.status, body: response.json }).toEqual({
        status: 400,
        body: { type: "invalid_data", message },
      });
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it("malformed JSON", async () => {
      const response = await t.request("POST", CLAIM_BY_EMAIL, { bearer: annToken, rawBody: '{"email": "ann@' });
      expect(response.status).toBe(400);
      expect(response.json).toEqual({ type: "invalid_data", message: "The request body is not valid JSON." });
    });

    it("a body over 100 kB is a 413 that names the limit", async () => {
      const response = await claimByEmail(`${"a".repeat(200_000)}@example.com`);
      expect(response.status).toBe(413);
      const message = "The request body is larger than 102400 bytes.";
      expect(response.json).toEqual({ type: "invalid_data", message });
    });

    it("an internationalised address is an address: 200 {}, stored in its normalised form", async () => {
      expectOk(await claimByEmail("ÜNÏ@Exämple.com"));
      expect((await newestClaimOf()).recipient_email).toBe("ünï@exämple.com");
      await t.gateway.jobWorker!.flush();
      expect(mail.messages).toEqual([]);
    });
  });
});

describe("POST /store/orders/customer/decline", () => {
  it("answers 200 {}: DECLINED, orders stay, order-claim.declined written, a follower hears it", async () => {
    const { id, token } = await openWorkClaim();
    const stream = await followClaim(id);
    expectOk(await decline(token));
    expect(await statusOf(id)).toBe("DECLINED");
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.workGuest.id);
    expect((await outboxEvents(t.prisma, { topic: "order-claim.declined" })).map((row) => row.payload)).toEqual([
      { claimId: id, claimerCustomerId: customers.ann.id, status: "DECLINED", at: expect.any(String) },
    ]);
    expect((await stream.next()).data!.orderClaimUpdated).toEqual({ id, status: "DECLINED" });
    expect(await stream.ended).toEqual({ kind: "complete" });
  });

  it("uses the token up: confirm and decline with it again are 400 invalid_data, already used", async () => {
    const { token } = await openWorkClaim();
    expectOk(await decline(token));
    for (const again of [await confirm(token), await decline(token)]) {
      expect({ status: again.status, body: again.json }).toEqual({ status: 400, body: USED });
    }
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
  });

  it("a confirmed token cannot decline: 400 already used, the orders stay moved", async () => {
    const { token } = await openWorkClaim();
    expectOk(await confirm(token));
    const declined = await decline(token);
    expect({ status: declined.status, body: declined.json }).toEqual({ status: 400, body: USED });
    expect(await ownerOf(orders.work1.id)).toBe(customers.ann.id);
  });

  it.each([
    ["too short", { token: "abc" }, INVALID],
    ["well-formed but unknown", { token: "A".repeat(43) }, INVALID],
    ["with a NUL", { token: `${"A".repeat(42)}\u0000` }, INVALID],
    ["empty", { token: "" }, { type: "invalid_data", message: "token should not be empty" }],
    ["missing", {}, { type: "invalid_data", message: "token must be a string" }],
    ["a number", { token: 42 }, { type: "invalid_data", message: "token must be a string" }],
    [
      "beside an unknown property",
      { token: "A".repeat(43), x: 1 },
      { type: "invalid_data", message: "property x should not exist" },
    ],
  ])("a token %s is a 400 that says so, and nothing changes", async (_name, body, expected) => {
    const { id } = await openWorkClaim();
    const response = await t.request("POST", DECLINE, { body });
    expect({ status: response.status, body: response.json }).toEqual({ status: 400, body: expected });
    expect(await statusOf(id)).toBe("PENDING");
  });

  it("a superseded or canceled claim's token is invalid", async () => {
    const superseded = await openWorkClaim();
    const canceled = await openWorkClaim();
    expectOk(await cancel(canceled.id));
    for (const token of [superseded.token, canceled.token]) {
      const response = await decline(token);
      expect({ status: response.status, body: response.json }).toEqual({ status: 400, body: INVALID });
    }
  });

  it("an expired token is a 400 that says it expired, for decline as for confirm", async () => {
    const { id, token } = await openWorkClaim();
    await t.prisma.orderClaim.update({ where: { id }, data: { expires_at: new Date(Date.now() - 1000) } });
    for (const response of [await decline(token), await confirm(token)]) {
      expect({ status: response.status, body: response.json }).toEqual({ status: 400, body: EXPIRED });
    }
    await eventually(async () => ((await statusOf(id)) === "EXPIRED" ? true : undefined));
    const afterSweep = await decline(token);
    expect({ status: afterSweep.status, body: afterSweep.json }).toEqual({ status: 400, body: EXPIRED });
  });

  it("lets exactly one of confirm and decline win when the same token is sent to both at once", async () => {
    for (let round = 0; round < 10; round++) {
      await returnWorkOrders();
      const { id, token } = await openWorkClaim();
      const [confirmed, declined] = await Promise.all([confirm(token), decline(token)]);
      expect([confirmed.status, declined.status].sort()).toEqual([200, 400]);
      const loser = confirmed.status === 200 ? declined : confirmed;
      expect(loser.json).toEqual(USED);
      const confirmWon = confirmed.status === 200;
      expect(await statusOf(id)).toBe(confirmWon ? "VERIFIED" : "DECLINED");
      expect(await ownerOf(orders.work1.id)).toBe(confirmWon ? customers.ann.id : customers.workGuest.id);
      expect(await ownerOf(orders.work2.id)).toBe(confirmWon ? customers.ann.id : customers.workGuest.id);
    }
  });
});

describe("DELETE /store/customers/me/order-claims/:id", () => {
  it("cancels a pending claim: 200 {}, CANCELED, token invalid, on the outbox and to a follower", async () => {
    const { id, token } = await openWorkClaim();
    const stream = await followClaim(id);
    expectOk(await cancel(id));
    expect(await statusOf(id)).toBe("CANCELED");
    const confirmed = await confirm(token);
    expect({ status: confirmed.status, body: confirmed.json }).toEqual({ status: 400, body: INVALID });
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
    expect((await outboxEvents(t.prisma, { topic: "order-claim.canceled" })).map((row) => row.payload)).toEqual([
      { claimId: id, claimerCustomerId: customers.ann.id, status: "CANCELED", at: expect.any(String) },
    ]);
    expect((await stream.next()).data!.orderClaimUpdated).toEqual({ id, status: "CANCELED" });
    expect(await stream.ended).toEqual({ kind: "complete" });
  });

  it("answers 200 {} again for a claim already canceled", async () => {
    const { id } = await openWorkClaim();
    expectOk(await cancel(id));
    expectOk(await cancel(id));
    expect(await outboxEvents(t.prisma, { topic: "order-claim.canceled" })).toHaveLength(1);
  });

  it("answers another customer's claim and an unknown id with the same 404 not_found", async () => {
    const { id, token } = await openWorkClaim();
    const bobs = await cancel(id, bobToken);
    const unknown = await cancel("oclaim_01JUNKNOWN0000000000000000");
    for (const response of [bobs, unknown]) {
      expect({ status: response.status, body: response.json }).toEqual({ status: 404, body: NOT_FOUND });
    }
    expect(bobs.text).toBe(unknown.text);
    // A NUL in the path (no id holds one) is not found either, not a database error.
    const nul = await t.request("DELETE", `${CLAIMS}/%00`, { bearer: annToken });
    expect({ status: nul.status, body: nul.json }).toEqual({ status: 404, body: NOT_FOUND });
    expect(await statusOf(id)).toBe("PENDING");
    expectOk(await confirm(token));
  });

  it("refuses a claim no longer pending with 400 not_allowed naming its status", async () => {
    const verified = await openWorkClaim();
    expectOk(await confirm(verified.token));
    await returnWorkOrders();
    const declined = await openWorkClaim();
    expectOk(await decline(declined.token));
    const superseded = await openWorkClaim();
    await openWorkClaim();
    for (const [id, status] of [
      [verified.id, "VERIFIED"],
      [declined.id, "DECLINED"],
      [superseded.id, "SUPERSEDED"],
    ]) {
      const response = await cancel(id!);
      expect({ status: response.status, body: response.json }).toEqual({
        status: 400,
        body: { type: "not_allowed", message: `This claim is no longer pending: it is ${status}.` },
      });
    }
  });

  it.each([
    ["no credentials", {}],
    ["a garbage bearer token", { bearer: "not-a-jwt" }],
  ])("answers 401 for %s and leaves the claim be", async (_name, auth) => {
    const { id } = await openWorkClaim();
    const response = await t.request("DELETE", claimPath(id), auth);
    expect({ status: response.status, body: response.json }).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await statusOf(id)).toBe("PENDING");
  });

  it("lets exactly one of cancel and confirm win when they race", async () => {
    for (let round = 0; round < 10; round++) {
      await returnWorkOrders();
      const { id, token } = await openWorkClaim();
      const [canceled, confirmed] = await Promise.all([cancel(id), confirm(token)]);
      const confirmWon = confirmed.status === 200;
      if (confirmWon) {
        expect({ status: canceled.status, body: canceled.json }).toEqual({
          status: 400,
          body: { type: "not_allowed", message: "This claim is no longer pending: it is VERIFIED." },
        });
      } else {
        expectOk(canceled);
        expect({ status: confirmed.status, body: confirmed.json }).toEqual({ status: 400, body: INVALID });
      }
      expect(await statusOf(id)).toBe(confirmWon ? "VERIFIED" : "CANCELED");
      expect(await ownerOf(orders.work1.id)).toBe(confirmWon ? customers.ann.id : customers.workGuest.id);
    }
  });
});

describe("GET /store/customers/me/order-claims", () => {
  /** Opens a claim by email to each address (none with orders), oldest first; returns their ids. */
  async function openClaims(addresses: string[], bearer = annToken): Promise<string[]> {
    const ids: string[] = [];
    for (const address of addresses) {
      expectOk(await claimByEmail(address, bearer));
      ids.push((await newestClaimOf(bearer === annToken ? customers.ann.id : customers.bob.id)).id);
    }
    return ids;
  }

  it("pages the customer's claims newest first with limit, offset and count; no-store", async () => {
    const ids = await openClaims(["n1@example.org", "n2@example.org", "n3@example.org", "n4@example.org"]);
    const newestFirst = [...ids].reverse();

    const whole = await list();
    expect(whole.status).toBe(200);
    expect(whole.headers.get("cache-control")).toBe("no-store");
    expect(whole.json).toMatchObject({ count: 4, offset: 0, limit: 10 });
    expect(whole.json.order_claims.map((c: ListedClaim) => c.id)).toEqual(newestFirst);

    const pages: string[] = [];
    for (const offset of [0, 2, 4]) {
      const page = await list(`?limit=2&offset=${offset}`);
      expect(page.json).toMatchObject({ count: 4, offset, limit: 2 });
      pages.push(...page.json.order_claims.map((c: ListedClaim) => c.id));
    }
    expect(pages).toEqual(newestFirst);
    expect((await list("?limit=0")).json).toEqual({ order_claims: [], count: 4, offset: 0, limit: 0 });
    expect((await list("?offset=10")).json).toEqual({ order_claims: [], count: 4, offset: 10, limit: 10 });
  });

  it.each([
    ["?limit=101", "limit must not be greater than 100"],
    ["?limit=-1", "limit must be an integer number"],
    ["?limit=ten", "limit must be an integer number"],
    ["?limit=1.5", "limit must be an integer number"],
    ["?offset=-3", "offset must be an integer number"],
    ["?status[]=bogus", `each value in status must be one of the following values: ${STATUSES}`],
    ["?status[]=pending&status[]=PENDING", `each value in status must be one of the following values: ${STATUSES}`],
    ["?status=", `each value in status must be one of the following values: ${STATUSES}`],
    ["?foo=1", "property foo should not exist"],
  ])("answers %s with a 400 that names the problem", async (query, message) => {
    const response = await list(query);
    expect({ status: response.status, body: response.json }).toEqual({
      status: 400,
      body: { type: "invalid_data", message },
    });
  });

  it("filters by status[]: one value, several, or a single status=", async () => {
    const verified = await openWorkClaim();
    expectOk(await confirm(verified.token));
    await returnWorkOrders();
    const declined = await openWorkClaim();
    expectOk(await decline(declined.token));
    const [canceled, superseded] = await openClaims(["c@example.org", "s@example.org"]);
    expectOk(await cancel(canceled!));
    const [pending] = await openClaims(["s@example.org"]);

    const idsOf = async (query: string) => {
      const response = await list(query);
      expect(response.status).toBe(200);
      return { ids: response.json.order_claims.map((c: ListedClaim) => c.id), count: response.json.count };
    };
    expect(await idsOf("?status[]=pending")).toEqual({ ids: [pending], count: 1 });
    expect(await idsOf("?status=canceled")).toEqual({ ids: [canceled], count: 1 });
    expect(await idsOf("?status[]=verified&status[]=declined")).toEqual({
      ids: [declined.id, verified.id],
      count: 2,
    });
    expect(await idsOf("?status[]=superseded&status[]=expired")).toEqual({ ids: [superseded], count: 1 });
    expect((await idsOf("")).count).toBe(5);
    const statuses = (await list()).json.order_claims.map((c: ListedClaim) => c.status);
    expect(statuses).toEqual(["pending", "superseded", "canceled", "declined", "verified"]);
  });

  it("lists only the signed-in customer's claims", async () => {
    const annIds = await openClaims(["a1@example.org"]);
    const bobIds = await openClaims(["b1@example.org", "b2@example.org"], bobToken);
    const anns = await list();
    expect(anns.json.order_claims.map((c: ListedClaim) => c.id)).toEqual(annIds);
    expect(anns.json.count).toBe(1);
    const bobs = await list("", bobToken);
    expect(bobs.json.order_claims.map((c: ListedClaim) => c.id)).toEqual([...bobIds].reverse());
    expect(anns.text).not.toContain("b1@");
  });

  it("masks the recipient and never carries the token or its hash", async () => {
    const { token } = await openWorkClaim();
    const response = await list();
    expect(response.json.order_claims).toEqual([
      {
        id: expect.any(String),
        status: "pending",
        recipient_email: "a***@example.com",
        by_email: true,
        order_count: null,
        order_ids: [],
        created_at: expect.any(String),
        expires_at: expect.any(String),
        verified_at: null,
      },
    ]);
    expect(response.text).not.toContain(token);
    expect(response.text).not.toContain(hashClaimToken(token));
    expect(response.text).not.toContain(WORK);
  });

  it("shows a claim by email's order count and ids only once verified, then the moved ids still owned", async () => {
    const { id, token } = await openWorkClaim();
    const [withoutOrders] = await openClaims([NO_ORDERS]);
    const before = (await list()).json.order_claims as ListedClaim[];
    const pick = (claims: ListedClaim[], claimId: string) => {
      const {
        id: _id,
        created_at: _c,
        expires_at: _e,
        recipient_email: _r,
        ...rest
      } = claims.find((c) => c.id === claimId)!;
      return rest;
    };
    // Pending, the two read the same.
    expect(pick(before, id)).toEqual(pick(before, withoutOrders!));
    expect(pick(before, id)).toMatchObject({ order_count: null, order_ids: [] });

    expectOk(await confirm(token));
    const after = (await list()).json.order_claims as ListedClaim[];
    expect(pick(after, id)).toMatchObject({
      status: "verified",
      order_count: 2,
      order_ids: [orders.work1.id, orders.work2.id],
      verified_at: expect.any(String),
    });
    // An order that moves on (into Bob's account) is no longer listed as the claim's.
    await t.prisma.order.update({ where: { id: orders.work2.id }, data: { customer_id: customers.bob.id } });
    expect(pick((await list()).json.order_claims, id).order_ids).toEqual([orders.work1.id]);
  });

  it("a claim by ids shows its order count while pending, and no order ids", async () => {
    expectOk(await t.request("POST", CLAIM_BY_IDS, { bearer: annToken, body: { order_ids: [orders.home.id] } }));
    expect((await list()).json.order_claims).toEqual([
      expect.objectContaining({ status: "pending", by_email: false, order_count: 1, order_ids: [] }),
    ]);
  });

  it("answers 401 without sign-in", async () => {
    const response = await t.request("GET", CLAIMS);
    expect({ status: response.status, body: response.json }).toEqual({ status: 401, body: UNAUTHORIZED });
  });
});

describe("rate limits on claims by email, and on declines", () => {
  const limited = useClaimFixture({
    RATE_LIMITS: "on",
    TRUST_PROXY: "true",
    RATE_LIMIT_CLAIM_CUSTOMER: "100/1h",
    RATE_LIMIT_CLAIM_RECIPIENT: "2/1h",
    RATE_LIMIT_CLAIM_RECIPIENT_TOTAL: "3/1h",
    RATE_LIMIT_CONFIRM_IP: "3/1h",
  });
  const BY_EMAIL = `mutation ($email: String!) {
    claimOrdersByEmail(email: $email) { __typename ... on Error { code message } }
  }`;

  /** Ann's and Bob's claims to `address` until it is refused; returns the refusals, through both doors. */
  async function refusals(address: string, claimers: string[]) {
    const { t: g } = limited;
    for (const bearer of claimers) {
      const response = await g.request("POST", CLAIM_BY_EMAIL, { bearer, body: { email: address } });
      expect(response.status).toBe(200);
    }
    const rest = await g.request("POST", CLAIM_BY_EMAIL, { bearer: claimers.at(-1), body: { email: address } });
    const graphql = await g.graphql<{ claimOrdersByEmail: unknown }>(BY_EMAIL, { email: address }, claimers.at(-1));
    return {
      status: rest.status,
      body: rest.json,
      retryAfter: Number(rest.headers.get("retry-after")),
      graphql: graphql.data!.claimOrdersByEmail,
    };
  }

  function expectWithheld(refusal: Awaited<ReturnType<typeof refusals>>) {
    expect(refusal).toMatchObject({
      status: 429,
      body: { type: "not_allowed", code: "rate_limited", message: expect.stringMatching(/^Too many claim emails/) },
      graphql: { __typename: "ClaimEmailsWithheldError", code: "CLAIM_EMAILS_WITHHELD" },
    });
    expect(refusal.retryAfter).toBeGreaterThan(0);
    expect(refusal.retryAfter).toBeLessThanOrEqual(3600);
  }

  it("refuses a claimer's third claim this hour to an address without orders as to one with them", async () => {
    const ann = storeTokenFor(customers.ann.id);
    const withOrders = await refusals(WORK, [ann, ann]);
    const withoutOrders = await refusals(NO_ORDERS, [ann, ann]);
    expectWithheld(withOrders);
    expectWithheld(withoutOrders);
    expect({ ...withoutOrders, retryAfter: 0 }).toEqual({ ...withOrders, retryAfter: 0 });
    // The refused claims opened nothing: two per address, the first superseded by the second.
    const claims = await limited.t.prisma.orderClaim.findMany({ orderBy: { created_at: "asc" } });
    expect(claims.map((c) => [c.recipient_email, c.status])).toEqual([
      [WORK, "SUPERSEDED"],
      [WORK, "PENDING"],
      [NO_ORDERS, "SUPERSEDED"],
      [NO_ORDERS, "PENDING"],
    ]);
  });

  it("holds the ceiling per address from all claimers alike, with orders or without", async () => {
    const ann = storeTokenFor(customers.ann.id);
    const bob = storeTokenFor(customers.bob.id);
    // Two from Ann and one from Bob fill the address's three; Bob's second is over the ceiling, not his own two.
    const withOrders = await refusals("ann.home@example.net", [ann, ann, bob]);
    const withoutOrders = await refusals("ann.elsewhere@example.net", [ann, ann, bob]);
    expectWithheld(withOrders);
    expect({ ...withoutOrders, retryAfter: 0 }).toEqual({ ...withOrders, retryAfter: 0 });
  });
  it("counts declines against the same per-address limit as confirmations, through both doors", async () => {
    const { t: g } = limited;
    const headers = { "x-forwarded-for": "203.0.113.77" };
    const unknown = "A".repeat(43);
    const statuses: number[] = [];
    for (const route of [DECLINE, CONFIRM, DECLINE]) {
      statuses.push((await g.request("POST", route, { headers, body: { token: unknown } })).status);
    }
    expect(statuses).toEqual([400, 400, 400]);
    for (const route of [DECLINE, CONFIRM]) {
      const refused = await g.request("POST", route, { headers, body: { token: unknown } });
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ type: "not_allowed", code: "rate_limited" });
    }
    const graphql = await g.request("POST", "/graphql", {
      headers,
      body: {
        query: "mutation ($t: String!) { declineOrderClaim(token: $t) { __typename } }",
        variables: { t: unknown },
      },
    });
    expect(graphql.status).toBe(429);
    expect(graphql.json.errors[0].extensions.code).toBe("RATE_LIMITED");
    // Another address is not held back.
    const elsewhere = await g.request("POST", DECLINE, {
      headers: { "x-forwarded-for": "203.0.113.78" },
      body: { token: unknown },
    });
    expect({ status: elsewhere.status, body: elsewhere.json }).toEqual({ status: 400, body: INVALID });
  });
});

describe("declines from a client forging its address", () => {
  // No TRUST_PROXY: X-Forwarded-For is the client's own say, and counts for nothing.
  const untrusted = useClaimFixture({ RATE_LIMITS: "on", RATE_LIMIT_CONFIRM_IP: "2/1h" });

  it("holds a client that names a new X-Forwarded-For on every decline to the limit of its real address", async () => {
    const { t: g } = untrusted;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const headers = { "x-forwarded-for": `198.51.100.${i}`, forwarded: `for=198.51.100.${i}` };
      statuses.push((await g.request("POST", DECLINE, { headers, body: { token: "A".repeat(43) } })).status);
    }
    expect(statuses).toEqual([400, 400, 429, 429]);
  });
});

describe("the claimer's own limit on claims by email", () => {
  const limited = useClaimFixture({ RATE_LIMITS: "on", RATE_LIMIT_CLAIM_CUSTOMER: "2/1h" });

  it("counts claims to addresses without orders as those with orders", async () => {
    const { t: g } = limited;
    for (const [bearer, addresses] of [
      [storeTokenFor(customers.ann.id), [NO_ORDERS, "other.nobody@example.com", WORK]],
      [storeTokenFor(customers.bob.id), [WORK, "ann.home@example.net", NO_ORDERS]],
    ] as const) {
      const statuses = [];
      for (const email of addresses)
        statuses.push((await g.request("POST", CLAIM_BY_EMAIL, { bearer, body: { email } })).status);
      expect(statuses).toEqual([200, 200, 429]);
    }
  });
});

describe("GET /store/customers/me/order-claims before the expiry sweep runs", () => {
  const unswept = useClaimFixture({ CLAIM_EXPIRY_SWEEP_INTERVAL: "1h" });

  it("filters a pending claim past its expiry as the expired claim it shows", async () => {
    const { t: g, annToken: ann } = unswept;
    expectOk(await g.request("POST", CLAIM_BY_EMAIL, { bearer: ann, body: { email: NO_ORDERS } }));
    const claim = await g.prisma.orderClaim.findFirstOrThrow();
    await g.prisma.orderClaim.update({ where: { id: claim.id }, data: { expires_at: new Date(Date.now() - 1000) } });
    // Not swept: the row still says PENDING.
    expect(await g.prisma.orderClaim.count({ where: { status: "PENDING" } })).toBe(1);

    const listed = async (query: string) => {
      const response = await g.request("GET", `${CLAIMS}${query}`, { bearer: ann });
      return response.json.order_claims.map((c: ListedClaim) => [c.id, c.status]);
    };
    expect(await listed("")).toEqual([[claim.id, "expired"]]);
    expect(await listed("?status[]=expired")).toEqual([[claim.id, "expired"]]);
    expect(await listed("?status[]=pending")).toEqual([]);
    expect(await listed("?status[]=pending&status[]=canceled")).toEqual([]);
    expect(await listed("?status[]=pending&status[]=expired")).toEqual([[claim.id, "expired"]]);
  });
});

describe("session cookie sent from another site", () => {
  it("refuses a claim by email and a cancel with 403, and accepts them from the same site", async () => {
    const login = await t.request("POST", "/store/auth", {
      body: { email: customers.ann.email, password: customers.ann.password },
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const { id } = await openWorkClaim();
    const crossSite = { cookie, headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } };

    const claimed = await t.request("POST", CLAIM_BY_EMAIL, { ...crossSite, body: { email: NO_ORDERS } });
    const canceled = await t.request("DELETE", claimPath(id), crossSite);
    for (const response of [claimed, canceled]) {
      expect(response.status).toBe(403);
      expect(response.json.type).toBe("not_allowed");
    }
    expect(await statusOf(id)).toBe("PENDING");
    expect(await t.prisma.orderClaim.count()).toBe(1);

    const sameSite = { cookie, headers: { "sec-fetch-site": "same-origin" } };
    expectOk(await t.request("DELETE", claimPath(id), sameSite));
    expect(await statusOf(id)).toBe("CANCELED");
  });
});
