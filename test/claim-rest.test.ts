import net from "node:net";
import pg from "pg";
import { logEntries, type TestGateway } from "./support/gateway";
import { claimScenario, storeTokenFor, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";

const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";

const fixture = useClaimFixture({ CLAIM_MAX_ORDERS: "5" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
beforeAll(() => ({ t, mail, annToken } = fixture));

describe("POST /store/orders/batch/customer/token (Claim Order)", () => {
  it("answers 200 {} and emails a working token to the orders' address", async () => {
    const response = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.json).toEqual({});

    const [message] = await mail.waitFor(1);
    expect(message!.to).toEqual(["ann.work@example.com"]);
    expect(message!.subject).toContain("#1001");
    expect(message!.text).toContain("#1001");
    expect(message!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // By default the link opens ordergate's own confirm page, where the server listens.
    expect(message!.text).toContain(`${t.url}/claim/confirm?token=${message!.token}`);

    const confirmed = await t.request("POST", CONFIRM, { body: { token: message!.token } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json).toEqual({});
    const order = await t.prisma.order.findUniqueOrThrow({ where: { id: orders.work1.id } });
    expect(order.customer_id).toBe(customers.ann.id);
  });

  it("accepts the session cookie of POST /store/auth", async () => {
    const login = await t.request("POST", "/store/auth", {
      body: { email: customers.ann.email, password: customers.ann.password },
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const response = await t.request("POST", CLAIM, { cookie, body: { order_ids: [orders.home.id] } });
    expect(response.status).toBe(200);
    const [message] = await mail.waitFor(1);
    expect(message!.to).toEqual(["ann.home@example.net"]);
  });

  it("opens one claim and sends one email per address, grouping emails case-insensitively", async () => {
    const response = await t.request("POST", CLAIM, {
      bearer: annToken,
      body: { order_ids: [orders.work1.id, orders.work2.id, orders.home.id] },
    });
    expect(response.status).toBe(200);
    const messages = await mail.waitFor(2);
    const byRecipient = Object.fromEntries(messages.map((m) => [m.to[0], m]));
    expect(Object.keys(byRecipient).sort()).toEqual(["ann.home@example.net", "ann.work@example.com"]);
    expect(byRecipient["ann.work@example.com"]!.text).toContain("#1001, #1002");
    expect(byRecipient["ann.home@example.net"]!.text).toContain("#1003");
    expect(byRecipient["ann.work@example.com"]!.token).not.toBe(byRecipient["ann.home@example.net"]!.token);

    const claims = await t.prisma.orderClaim.findMany({
      include: { orders: true },
      orderBy: { recipient_email: "asc" },
    });
    expect(claims.map((c) => [c.recipient_email, c.orders.map((o) => o.order_id).sort()])).toEqual([
      ["ann.home@example.net", [orders.home.id]],
      ["ann.work@example.com", [orders.work1.id, orders.work2.id]],
    ]);
  });

  it("skips unknown, canceled and already-own orders without a hint", async () => {
    const skippedOnly = await t.request("POST", CLAIM, {
      bearer: annToken,
      body: { order_ids: ["order_does_not_exist", orders.canceled.id, orders.annOwn.id] },
    });
    const mixed = await t.request("POST", CLAIM, {
      bearer: annToken,
      body: { order_ids: ["order_does_not_exist", orders.canceled.id, orders.annOwn.id, orders.work1.id] },
    });
    // Same answer either way: the route is not an existence oracle.
    expect(skippedOnly.status).toBe(200);
    expect(mixed.status).toBe(200);
    expect(skippedOnly.text).toBe(mixed.text);

    const [message] = await mail.waitFor(1);
    expect(message!.text).toContain("#1001");
    expect(message!.text).not.toContain("#1004");
    expect(message!.text).not.toContain("#1005");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mail.messages).toHaveLength(1);
    const links = await t.prisma.orderClaimOrder.findMany();
    expect(links.map((l) => l.order_id)).toEqual([orders.work1.id]);
  });

  it("keeps only the newest token when the same orders are requested again", async () => {
    await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } });
    const [first] = await mail.waitFor(1);
    await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id, orders.work2.id] } });
    const [, second] = await mail.waitFor(2);

    const claims = await t.prisma.orderClaim.findMany({ orderBy: { created_at: "asc" } });
    expect(claims.map((c) => c.status)).toEqual(["SUPERSEDED", "PENDING"]);
    const stale = await t.request("POST", CONFIRM, { body: { token: first!.token } });
    expect(stale.status).toBe(400);
    expect(stale.json.type).toBe("invalid_data");
    const fresh = await t.request("POST", CONFIRM, { body: { token: second!.token } });
    expect(fresh.status).toBe(200);
  });

  it("leaves one live claim when the same request arrives twice at once", async () => {
    const body = { order_ids: [orders.work1.id, orders.work2.id] };
    const responses = await Promise.all([1, 2, 3].map(() => t.request("POST", CLAIM, { bearer: annToken, body })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const pending = await t.prisma.orderClaim.count({ where: { status: "PENDING" } });
    expect(pending).toBe(1);
  });

  it("makes a request wait for another's uncommitted claim on the same orders, and supersede it", async () => {
    // Another request's write, held open mid-transaction: the next request for the same order must
    // not take its snapshot before that commits, or both claims would stay pending.
    const other = new pg.Client({ connectionString: t.config.databaseUrl });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(
        `SELECT FROM "ordergate"."open_order_claims"($1, now(), $2, '{"topic":"order-claim.updated","payload":{}}', $3, '[]')`,
        [
          customers.ann.id,
          [orders.work1.id],
          JSON.stringify([
            {
              id: "oclaim_in_flight",
              recipient_email: "ann.work@example.com",
              token_hash: "0".repeat(64),
              expires_at: new Date(Date.now() + 60_000),
              order_ids: [orders.work1.id],
            },
          ]),
        ],
      );
      const request = t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await other.query("COMMIT");
      expect((await request).status).toBe(200);
    } finally {
      await other.end();
    }
    const claims = await t.prisma.orderClaim.findMany({ where: { claimer_customer_id: customers.ann.id } });
    expect(claims.map((c) => [c.id === "oclaim_in_flight" ? "in flight" : "request", c.status]).sort()).toEqual([
      ["in flight", "SUPERSEDED"],
      ["request", "PENDING"],
    ]);
  });

  it("keeps supersession right when overlapping requests race: the last one written wins, every other is superseded and announced", async () => {
    const sets = [[orders.work1.id], [orders.work1.id, orders.work2.id], [orders.work2.id]];
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: sets[i % 3] } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(24).fill(200));

    const claims = await t.prisma.orderClaim.findMany({
      where: { claimer_customer_id: customers.ann.id },
      include: { orders: true },
    });
    expect(claims).toHaveLength(24);
    const events = await t.prisma.outboxEvent.findMany({
      where: { topic: "order-claim.updated" },
      orderBy: { id: "asc" },
    });
    const announced = (status: string) =>
      events
        .filter((e) => (e.payload as { status: string }).status === status)
        .map((e) => (e.payload as { claimId: string }).claimId);
    // Each order is in at most one pending claim, and the claim written last (its PENDING event is the newest) is one.
    for (const order of [orders.work1.id, orders.work2.id]) {
      expect(
        claims.filter((c) => c.status === "PENDING" && c.orders.some((o) => o.order_id === order)).length,
      ).toBeLessThanOrEqual(1);
    }
    const lastWritten = announced("PENDING").at(-1);
    expect(claims.find((c) => c.id === lastWritten)!.status).toBe("PENDING");
    // Every other claim was superseded by a later one that shares an order, and announced once.
    const superseded = claims.filter((c) => c.status === "SUPERSEDED").map((c) => c.id);
    expect(superseded.length).toBeGreaterThan(0);
    expect(claims.filter((c) => c.status !== "SUPERSEDED" && c.status !== "PENDING")).toEqual([]);
    expect(announced("SUPERSEDED").sort()).toEqual(superseded.sort());
    for (const claim of claims.filter((c) => c.status === "PENDING")) {
      const later = claims.filter(
        (other) => announced("PENDING").indexOf(other.id) > announced("PENDING").indexOf(claim.id),
      );
      expect(
        later.filter((other) => other.orders.some((o) => claim.orders.some((mine) => mine.order_id === o.order_id))),
      ).toEqual([]);
    }
  });

  it("skips an order in another customer's account like an unknown id: 200 {}, no claim, no email", async () => {
    const response = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.bobs.id] } });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({});
    await t.gateway.jobWorker!.flush();
    expect(mail.messages).toEqual([]);
    expect(await t.prisma.orderClaim.count()).toBe(0);
  });

  describe("authentication", () => {
    it.each([
      ["no credentials", {}],
      ["a garbage bearer token", { bearer: "not-a-jwt" }],
      [
        "a token signed with another secret",
        { bearer: "eyJhbGciOiJIUzI1NiJ9.eyJjdXN0b21lcl9pZCI6ImN1c19hbm4iLCJkb21haW4iOiJzdG9yZSJ9.c2lnbmF0dXJl" },
      ],
      ["an unknown session cookie", { cookie: "connect.sid=forged" }],
    ])("answers 401 with Medusa's JSON body for %s, before looking at the body", async (_name, auth) => {
      const response = await t.request("POST", CLAIM, { ...auth, rawBody: "{not json" });
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ type: "unauthorized", message: "Unauthorized" });
    });

    it("refuses a guest customer record: 401 Customer does not have an account", async () => {
      const response = await t.request("POST", CLAIM, {
        bearer: storeTokenFor(customers.workGuest.id),
        body: { order_ids: [orders.home.id] },
      });
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ type: "unauthorized", message: "Customer does not have an account" });
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });
  });

  describe("bad input is a 400 invalid_data that names the problem", () => {
    it.each([
      ["an empty list", { order_ids: [] }, "order_ids must contain at least one order id"],
      ["a missing order_ids", {}, "order_ids must be an array"],
      ["null", { order_ids: null }, "order_ids must be an array"],
      ["a bare string", { order_ids: "order_w1" }, "order_ids must be an array"],
      ["an object", { order_ids: { 0: "order_w1" } }, "order_ids must be an array"],
      ["a number in the list", { order_ids: ["order_w1", 1] }, "each value in order_ids must be a string"],
      [
        "several numbers in the list (said once)",
        { order_ids: [1, "order_w1", 2, 3] },
        "each value in order_ids must be a string",
      ],
      ["an empty id", { order_ids: [""] }, "order_ids must not contain empty ids"],
      ["a blank id", { order_ids: ["  "] }, "order_ids must not contain empty ids"],
      ["a NUL byte in an id", { order_ids: ["order_\u0000w1"] }, "order_ids must not contain control characters"],
      ["an unknown property", { order_ids: ["order_w1"], x: 1 }, "property x should not exist"],
      [
        "more ids than CLAIM_MAX_ORDERS",
        { order_ids: ["a", "b", "c", "d", "e", "f"] },
        "order_ids must contain at most 5 order ids (got 6)",
      ],
      ["a JSON array body", ["order_w1"], "The request body must be a JSON object."],
    ])("%s", async (_name, body, message) => {
      const response = await t.request("POST", CLAIM, { bearer: annToken, body });
      expect(response.status).toBe(400);
      expect(response.json).toEqual({ type: "invalid_data", message });
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it.each([
      ["no body at all", undefined],
      ["an empty body with a JSON content type", ""],
    ])("%s is Medusa's {}: the missing field is named", async (_name, rawBody) => {
      const response = await t.request("POST", CLAIM, {
        bearer: annToken,
        rawBody,
        headers: rawBody === undefined ? {} : { "content-type": "application/json" },
      });
      expect(response.status).toBe(400);
      expect(response.json).toEqual({ type: "invalid_data", message: "order_ids must be an array" });
    });

    it("a client that hangs up mid-body is no error", async () => {
      const { port } = new URL(t.url);
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(port), "127.0.0.1", () => {
          socket.write(
            `POST ${CLAIM} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${annToken}\r\n` +
              'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"order_ids": [',
            () => setTimeout(() => socket.destroy(), 100),
          );
        });
        socket.on("close", () => resolve());
        socket.on("error", reject);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(logEntries(t).filter((entry) => entry.level === "error")).toEqual([]);
      expect(t.logs.some((line) => line.includes("closed the request before sending its body"))).toBe(true);
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it("malformed JSON", async () => {
      const response = await t.request("POST", CLAIM, { bearer: annToken, rawBody: '{"order_ids": [' });
      expect(response.status).toBe(400);
      expect(response.json).toEqual({ type: "invalid_data", message: "The request body is not valid JSON." });
    });

    it("a body over 100 kB is a 413 that names the limit", async () => {
      const response = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: ["x".repeat(200_000)] } });
      expect(response.status).toBe(413);
      expect(response.json).toEqual({ type: "invalid_data", message: "The request body is larger than 102400 bytes." });
    });

    it("repeated ids count once and unicode ids are just unknown", async () => {
      const response = await t.request("POST", CLAIM, {
        bearer: annToken,
        body: {
          order_ids: [
            orders.work1.id,
            orders.work1.id,
            orders.work1.id,
            orders.work1.id,
            orders.work1.id,
            orders.work1.id,
            "order_ü🙂",
          ],
        },
      });
      expect(response.status).toBe(200);
      const links = await t.prisma.orderClaimOrder.findMany();
      expect(links.map((l) => l.order_id)).toEqual([orders.work1.id]);
    });
  });
});
