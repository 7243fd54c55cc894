import { hashClaimToken } from "../src/domain/claim-token";
import { startTestGateway, type TestGateway } from "./support/gateway";
import { claimScenario, loginToken, seedScenario, useClaimFixture } from "./support/scenarios";
import { TestMailServer } from "./support/smtp";

const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";

const fixture = useClaimFixture();
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
beforeAll(() => ({ t, mail, annToken } = fixture));

/** Ann claims the orders; resolves with the token the email carried. */
async function claimAndReadToken(orderIds: string[]): Promise<string> {
  const before = mail.messages.length;
  const response = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: orderIds } });
  expect(response.status).toBe(200);
  const messages = await mail.waitFor(before + 1);
  return messages[before]!.token!;
}

const ownerOf = async (id: string) => (await t.prisma.order.findUniqueOrThrow({ where: { id } })).customer_id;

describe("POST /store/orders/customer/confirm (Verify Order Claim)", () => {
  it("moves the orders to the claimer, keeps their email, and shows them in me.orders", async () => {
    const token = await claimAndReadToken([orders.work1.id, orders.work2.id]);
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);

    const response = await t.request("POST", CONFIRM, { body: { token } });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({});
    expect(await ownerOf(orders.work1.id)).toBe(customers.ann.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.ann.id);
    const work2 = await t.prisma.order.findUniqueOrThrow({ where: { id: orders.work2.id } });
    expect(work2.email).toBe("Ann.Work@Example.com");

    const claim = await t.prisma.orderClaim.findFirstOrThrow({ include: { orders: true } });
    expect(claim.status).toBe("VERIFIED");
    expect(claim.verified_at).not.toBeNull();
    expect(claim.orders.every((link) => link.transferred_at !== null)).toBe(true);

    const me = await t.graphql<{ me: { orders: { totalCount: number; edges: { node: { id: string } }[] } } }>(
      "{ me { orders(first: 10) { totalCount edges { node { id } } } } }",
      {},
      annToken,
    );
    expect(me.data!.me.orders.edges.map((e) => e.node.id).sort()).toEqual(
      [orders.annOwn.id, orders.work1.id, orders.work2.id].sort(),
    );
  });

  it("refuses a used token with 400 invalid_data", async () => {
    const token = await claimAndReadToken([orders.work1.id]);
    expect((await t.request("POST", CONFIRM, { body: { token } })).status).toBe(200);
    const again = await t.request("POST", CONFIRM, { body: { token } });
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ type: "invalid_data", message: "The claim token has already been used." });
  });

  it.each([
    ["a garbage token", "garbage"],
    ["a well-formed unknown token", "A".repeat(43)],
    ["a JWT (Medusa's token format)", "eyJhbGciOiJIUzI1NiJ9.eyJjbGFpbWluZ0N1c3RvbWVySWQiOiJjdXNfYW5uIn0.c2ln"],
    ["a huge string", "x".repeat(50_000)],
    ["unicode", "токен🙂"],
  ])("refuses %s with 400 invalid_data, never 500", async (_name, token) => {
    const response = await t.request("POST", CONFIRM, { body: { token } });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message: "The claim token is invalid." });
  });

  it("refuses an expired token with 400 invalid_data and moves nothing", async () => {
    const token = await claimAndReadToken([orders.work1.id]);
    await t.prisma.orderClaim.updateMany({ data: { expires_at: new Date(Date.now() - 1000) } });
    const response = await t.request("POST", CONFIRM, { body: { token } });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message: "The claim token has expired. Request a new one." });
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
  });

  it.each([
    ["a missing token", {}, "token must be a string"],
    ["an empty token", { token: "" }, "token should not be empty"],
    ["a number", { token: 42 }, "token must be a string"],
    ["an unknown property", { token: "abc", x: 1 }, "property x should not exist"],
  ])("answers 400 for %s", async (_name, body, message) => {
    const response = await t.request("POST", CONFIRM, { body });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message });
  });

  it("answers 400 naming the token for a request without a body (Medusa's {})", async () => {
    const response = await t.request("POST", CONFIRM);
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ type: "invalid_data", message: "token must be a string" });
  });

  it("answers 400 for malformed JSON", async () => {
    const response = await t.request("POST", CONFIRM, { rawBody: "{'token':" });
    expect(response.status).toBe(400);
    expect(response.json.type).toBe("invalid_data");
  });

  it("lets exactly one of 20 concurrent confirmations of one token succeed", async () => {
    const token = await claimAndReadToken([orders.work1.id, orders.work2.id]);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => t.request("POST", CONFIRM, { body: { token } })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    expect(
      await t.prisma.outboxEvent.count({
        where: { topic: "order-claim.updated", payload: { path: ["status"], equals: "VERIFIED" } },
      }),
    ).toBe(1);
  });

  it("does not move an order whose email changed after the claim was opened", async () => {
    const token = await claimAndReadToken([orders.work1.id, orders.work2.id]);
    await t.prisma.order.update({ where: { id: orders.work2.id }, data: { email: "someone.else@example.com" } });
    const response = await t.graphql<{
      verifyOrderClaim: { transferredOrderIds: string[]; claim: { orderCount: number; orders: { id: string }[] } };
    }>(
      "mutation($token: String!) { verifyOrderClaim(token: $token) { ... on VerifyOrderClaimSuccess { transferredOrderIds claim { orderCount orders { id } } } } }",
      { token },
    );
    expect(response.data!.verifyOrderClaim.transferredOrderIds).toEqual([orders.work1.id]);
    expect(response.data!.verifyOrderClaim.claim).toEqual({ orderCount: 2, orders: [{ id: orders.work1.id }] });
    expect(await ownerOf(orders.work2.id)).toBe(customers.workGuest.id);
  });

  it("does not move an order canceled after the claim was opened", async () => {
    const token = await claimAndReadToken([orders.work1.id]);
    await t.prisma.order.update({ where: { id: orders.work1.id }, data: { status: "canceled" } });
    expect((await t.request("POST", CONFIRM, { body: { token } })).status).toBe(200);
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
  });

  it("stores only the token's SHA-256, and erases the raw token from the outbox once mailed", async () => {
    const token = await claimAndReadToken([orders.work1.id]);
    await t.gateway.jobWorker!.flush();
    const claim = await t.prisma.orderClaim.findFirstOrThrow();
    expect(claim.token_hash).toBe(hashClaimToken(token));
    const dump = JSON.stringify(
      await t.prisma
        .$queryRaw`SELECT row_to_json(c)::text AS row FROM "ordergate"."order_claim" c UNION ALL SELECT row_to_json(o)::text FROM "ordergate"."outbox_event" o`,
    );
    expect(dump).not.toContain(token);
  });

  it("never returns or logs a claim token or a password hash", async () => {
    const token = await claimAndReadToken([orders.work1.id]);
    await t.request("POST", "/store/auth", { body: { email: customers.ann.email, password: customers.ann.password } });
    await t.request("GET", "/store/auth", { bearer: annToken });
    await t.graphql("{ me { id email orders(first: 5) { edges { node { id email } } } } }", {}, annToken);
    await t.graphql(
      "mutation($ids: [ID!]!) { claimOrders(orderIds: $ids) { ... on ClaimOrdersSuccess { claims { id status recipientEmail expiresAt orderCount } } } }",
      { ids: [orders.home.id] },
      annToken,
    );
    await t.request("POST", CONFIRM, { body: { token } });
    const hashes = (await t.prisma.customer.findMany()).flatMap((c) => (c.password_hash ? [c.password_hash] : []));
    expect(hashes.length).toBeGreaterThan(0);
    const everything = [...t.responses, ...t.logs].join("\n");
    expect(t.logs.some((line) => line.includes("claim email sent"))).toBe(true);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(hashClaimToken(token));
    for (const hash of hashes) expect(everything).not.toContain(hash);
    expect(everything).not.toContain("password_hash");
  });
});

describe("CLAIM_REPLACE_ORDER_EMAIL=true (Medusa v1's behaviour)", () => {
  let medusaLike: TestGateway;
  const inbox = new TestMailServer();

  beforeAll(async () => {
    await inbox.start();
    medusaLike = await startTestGateway({ SMTP_URL: inbox.url, CLAIM_REPLACE_ORDER_EMAIL: "true" });
    await seedScenario(medusaLike.prisma, claimScenario);
  });
  afterAll(async () => {
    await medusaLike?.close();
    await inbox.stop();
  });

  it("replaces the order's email with the claimer's", async () => {
    const bearer = await loginToken(medusaLike, customers.ann.email, customers.ann.password!);
    await medusaLike.request("POST", CLAIM, { bearer, body: { order_ids: [orders.home.id] } });
    const [message] = await inbox.waitFor(1);
    expect((await medusaLike.request("POST", CONFIRM, { body: { token: message!.token } })).status).toBe(200);
    const order = await medusaLike.prisma.order.findUniqueOrThrow({ where: { id: orders.home.id } });
    expect(order).toMatchObject({ customer_id: customers.ann.id, email: customers.ann.email });
  });
});
