import jwt from "jsonwebtoken";
import { hashClaimToken } from "../src/domain/claim-token";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { claimScenario, seedScenario, storeTokenFor, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";
import { subscribe, type SubscriptionStream, subscribeWs, type Transport } from "./support/subscriptions";
import { eventually, sleep } from "./support/wait";

const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
const CLAIM_UPDATES = `subscription Follow($claimId: ID) {
  orderClaimUpdated(claimId: $claimId) { id status recipientEmail orderCount orders { id displayId } verifiedAt }
}`;

const fixture = useClaimFixture({ CLAIM_TOKEN_TTL: "1h", WEBSOCKET_KEEPALIVE: "200ms" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
beforeAll(() => ({ t, mail, annToken } = fixture));

/** Every stream a test opens; closed after it, and checked for tokens first. */
let streams: SubscriptionStream[] = [];
/** Claim tokens mailed during the test: none may appear in any frame of any stream. */
let tokens: string[] = [];

afterEach(async () => {
  const frames = streams.flatMap((stream) => stream.frames).join("\n");
  for (const token of tokens) {
    expect(frames).not.toContain(token);
    expect(frames).not.toContain(hashClaimToken(token));
  }
  await Promise.all(streams.map((stream) => stream.close()));
  streams = [];
  tokens = [];
});

type ClaimUpdate = {
  id: string;
  status: string;
  recipientEmail: string;
  orderCount: number;
  orders: { id: string; displayId: number }[];
  verifiedAt: string | null;
};

describe.each<Transport>(["sse", "ws"])("orderClaimUpdated over %s", (transport) => {
  /** Opens a subscription and waits until the server listens for it, so no event can slip by. */
  async function follow(
    bearer: string | undefined,
    variables?: Record<string, unknown>,
    gateway = t,
  ): Promise<SubscriptionStream> {
    const before = gateway.gateway.services.events.openSubscriptions();
    const stream = await subscribe(transport, gateway.url, CLAIM_UPDATES, { bearer, variables });
    streams.push(stream);
    await eventually(() => (gateway.gateway.services.events.openSubscriptions() > before ? true : undefined));
    return stream;
  }

  async function nextUpdate(stream: SubscriptionStream): Promise<ClaimUpdate> {
    const result = await stream.next();
    expect(result.errors).toBeUndefined();
    return result.data!.orderClaimUpdated as ClaimUpdate;
  }

  async function claim(orderIds: string[], gateway = t, bearer = annToken): Promise<void> {
    const response = await gateway.request("POST", CLAIM, { bearer, body: { order_ids: orderIds } });
    expect(response.status).toBe(200);
  }

  async function mailedToken(to: string, count = 1): Promise<string> {
    const messages = await mail.waitFor(count);
    const token = messages.filter((message) => message.to[0] === to).at(-1)!.token!;
    tokens.push(token);
    return token;
  }

  it("tells PENDING when a claim is requested, then VERIFIED with the moved orders when it is confirmed", async () => {
    const stream = await follow(annToken);
    await claim([orders.work1.id, orders.work2.id]);
    const pending = await nextUpdate(stream);
    expect(pending).toMatchObject({
      status: "PENDING",
      recipientEmail: "a***@example.com",
      orderCount: 2,
      orders: [],
      verifiedAt: null,
    });

    const token = await mailedToken("ann.work@example.com");
    expect((await t.request("POST", CONFIRM, { body: { token } })).status).toBe(200);
    const verified = await nextUpdate(stream);
    expect(verified).toMatchObject({
      id: pending.id,
      status: "VERIFIED",
      orders: [
        { id: orders.work1.id, displayId: 1001 },
        { id: orders.work2.id, displayId: 1002 },
      ],
    });
    expect(verified.verifiedAt).not.toBeNull();
    expect(stream.pending()).toEqual([]);
  });

  it("tells SUPERSEDED when a newer request covers the same orders", async () => {
    const stream = await follow(annToken);
    await claim([orders.work1.id]);
    const first = await nextUpdate(stream);
    expect(first.status).toBe("PENDING");
    await claim([orders.work1.id, orders.work2.id]);
    const updates = [await nextUpdate(stream), await nextUpdate(stream)];
    expect(updates.map((u) => [u.id === first.id ? "first" : "second", u.status]).sort()).toEqual([
      ["first", "SUPERSEDED"],
      ["second", "PENDING"],
    ]);
    // The first claim's email may never go out: it was superseded before its turn.
    await t.gateway.jobWorker!.flush();
    tokens.push(...mail.messages.map((m) => m.token!));
    expect(tokens.length).toBeGreaterThan(0);
  });

  it("with claimId, starts with that claim's state, ignores the others and completes once it is final", async () => {
    await claim([orders.work1.id, orders.home.id]);
    const { claims } = await t.prisma.customer.findUniqueOrThrow({
      where: { id: customers.ann.id },
      include: { claims: true },
    });
    const work = claims.find((c) => c.recipient_email === "ann.work@example.com")!;
    const stream = await follow(annToken, { claimId: work.id });
    expect(await nextUpdate(stream)).toMatchObject({ id: work.id, status: "PENDING" });

    const homeToken = await mailedToken("ann.home@example.net", 2);
    await t.request("POST", CONFIRM, { body: { token: homeToken } });
    const workToken = await mailedToken("ann.work@example.com", 2);
    await t.request("POST", CONFIRM, { body: { token: workToken } });
    expect(await nextUpdate(stream)).toMatchObject({
      id: work.id,
      status: "VERIFIED",
      orders: [{ id: orders.work1.id }],
    });
    expect(await stream.ended).toEqual({ kind: "complete" });
    expect(stream.pending()).toEqual([]);
  });

  it("with the claimId of a final claim, tells its state and completes; someone else's claim is not found", async () => {
    await claim([orders.home.id]);
    const claimRow = await t.prisma.orderClaim.findFirstOrThrow();
    await t.request("POST", CONFIRM, { body: { token: await mailedToken("ann.home@example.net") } });

    // A final claim's stream ends at once: there is no listener to wait for.
    const own = await subscribe(transport, t.url, CLAIM_UPDATES, {
      bearer: annToken,
      variables: { claimId: claimRow.id },
    });
    streams.push(own);
    expect(await nextUpdate(own)).toMatchObject({ id: claimRow.id, status: "VERIFIED" });
    expect(await own.ended).toEqual({ kind: "complete" });

    const bobs = await subscribe(transport, t.url, CLAIM_UPDATES, {
      bearer: storeTokenFor(customers.bob.id),
      variables: { claimId: claimRow.id },
    });
    streams.push(bobs);
    const refused = await bobs.next();
    expect(refused.errors).toEqual([
      expect.objectContaining({ message: "No claim of yours has this id.", extensions: { code: "NOT_FOUND" } }),
    ]);
    expect(JSON.stringify(refused)).not.toContain("ann");
  });

  it("tells another customer nothing of Ann's claims", async () => {
    const bobs = await follow(storeTokenFor(customers.bob.id));
    const anns = await follow(annToken);
    await claim([orders.home.id]);
    await t.request("POST", CONFIRM, { body: { token: await mailedToken("ann.home@example.net") } });
    expect((await nextUpdate(anns)).status).toBe("PENDING");
    expect((await nextUpdate(anns)).status).toBe("VERIFIED");
    await sleep(300);
    expect(bobs.pending()).toEqual([]);
    expect(bobs.frames.join("")).not.toContain("orderClaimUpdated");
  });

  it.each([
    ["no credentials", undefined],
    ["a garbage token", "garbage"],
    [
      "a token signed with another secret",
      jwt.sign({ customer_id: customers.ann.id, domain: "store" }, "another-secret-of-enough-length"),
    ],
    [
      "an expired token",
      jwt.sign(
        { customer_id: customers.ann.id, domain: "store", exp: Math.floor(Date.now() / 1000) - 10 },
        TEST_JWT_SECRET,
      ),
    ],
  ])("refuses %s", async (_case, bearer) => {
    const stream = await subscribe(transport, t.url, CLAIM_UPDATES, { bearer });
    streams.push(stream);
    const end = await stream.ended;
    if (transport === "sse") {
      expect(stream.status).toBe(401);
      expect(stream.pending()).toEqual([
        {
          errors: [
            expect.objectContaining({
              message: "Sign in as a customer to do this.",
              extensions: { code: "UNAUTHENTICATED" },
            }),
          ],
        },
      ]);
      expect(end).toEqual({ kind: "complete" });
    } else {
      // Without credentials the connection opens (public operations) and is closed on asking for this one.
      expect(end).toEqual(
        bearer === undefined
          ? { kind: "closed", code: 4401, reason: "Unauthorized" }
          : { kind: "closed", code: 4403, reason: "Forbidden" },
      );
    }
    expect(t.gateway.services.events.openSubscriptions()).toBe(0);
  });

  it("ends the stream when the JWT expires", async () => {
    const shortLived = jwt.sign(
      { customer_id: customers.ann.id, domain: "store", exp: Math.floor(Date.now() / 1000) + 2 },
      TEST_JWT_SECRET,
    );
    const stream = await follow(shortLived);
    const end = await stream.ended;
    if (transport === "sse") {
      expect(stream.pending()).toEqual([
        expect.objectContaining({ errors: [expect.objectContaining({ extensions: { code: "UNAUTHENTICATED" } })] }),
      ]);
      expect(end).toEqual({ kind: "complete" });
    } else {
      expect(end).toEqual({ kind: "closed", code: 4403, reason: "Forbidden: the sign-in has expired" });
    }
    await eventually(() => (t.gateway.services.events.openSubscriptions() === 0 ? true : undefined));
  });

  it("keeps an idle stream alive", async () => {
    const stream = await follow(annToken);
    // Yoga pings SSE every 300 ms under NODE_ENV=test (12 s otherwise); WEBSOCKET_KEEPALIVE is 200 ms here.
    await eventually(() => (stream.keepAlives >= 3 ? true : undefined), 5_000);
    expect(stream.pending()).toEqual([]);
  });

  it("completes open streams when the gateway shuts down", async () => {
    const own = await startTestGateway({ LOG_LEVEL: "silent" });
    try {
      await seedScenario(own.prisma, claimScenario);
      const stream = await follow(annToken, undefined, own);
      await own.gateway.close();
      expect(await stream.ended).toEqual(
        transport === "sse" ? { kind: "complete" } : { kind: "closed", code: 1001, reason: "Going away" },
      );
    } finally {
      await own.close();
    }
  });
});

describe("WebSocket connections", () => {
  it.each([
    ["a number", { authorization: 42 }],
    ["another scheme", { authorization: `Token ${storeTokenFor(customers.ann.id)}` }],
    ["two words after Bearer", { authorization: "Bearer a b" }],
  ])("refuses an authorization that is %s with 4403, before any operation", async (_case, connectionParams) => {
    const stream = await subscribeWs(t.url, CLAIM_UPDATES, { connectionParams });
    streams.push(stream);
    expect(await stream.ended).toEqual({ kind: "closed", code: 4403, reason: "Forbidden" });
  });

  it("accepts the bare token in connectionParams", async () => {
    const stream = await subscribeWs(t.url, CLAIM_UPDATES, { connectionParams: { authorization: annToken } });
    streams.push(stream);
    await eventually(() => (t.gateway.services.events.openSubscriptions() === 1 ? true : undefined));
  });

  it("closes a connection that sends a message over 1 MB with 1009", async () => {
    const stream = await subscribeWs(t.url, `subscription { orderClaimUpdated { id } } # ${"x".repeat(1024 * 1024)}`, {
      bearer: annToken,
    });
    streams.push(stream);
    expect(await stream.ended).toEqual({ kind: "closed", code: 1009, reason: "" });
  });
});

describe("claim expiry over both transports", () => {
  it("tells EXPIRED on its own, within about two seconds of the expiry", async () => {
    const own = await startTestGateway({ CLAIM_TOKEN_TTL: "1s", CLAIM_EXPIRY_SWEEP_INTERVAL: "1s" });
    try {
      await seedScenario(own.prisma, claimScenario);
      const sse = await subscribe("sse", own.url, CLAIM_UPDATES, { bearer: annToken });
      const ws = await subscribe("ws", own.url, CLAIM_UPDATES, { bearer: annToken });
      streams.push(sse, ws);
      await eventually(() => (own.gateway.services.events.openSubscriptions() === 2 ? true : undefined));
      await own.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.home.id] } });
      const claimRow = await own.prisma.orderClaim.findFirstOrThrow();
      for (const stream of [sse, ws]) {
        expect((await stream.next()).data!.orderClaimUpdated).toMatchObject({ id: claimRow.id, status: "PENDING" });
        expect((await stream.next()).data!.orderClaimUpdated).toMatchObject({
          id: claimRow.id,
          status: "EXPIRED",
          orders: [],
        });
      }
      const expired = await own.prisma.orderClaim.findUniqueOrThrow({ where: { id: claimRow.id } });
      expect(expired.updated_at.getTime() - expired.expires_at.getTime()).toBeLessThan(2_000);
    } finally {
      await own.close();
    }
  });
});

describe("signing out ends the session's streams", () => {
  const CLAIM_UPDATES_OVER_SSE = "subscription { orderClaimUpdated { id status } }";
  const SIGNED_OUT = {
    message: "You signed out. Sign in again to keep following your claims.",
    extensions: { code: "UNAUTHENTICATED" },
  };

  async function signIn(): Promise<string> {
    const response = await t.request("POST", "/store/auth", {
      body: { email: customers.ann.email, password: customers.ann.password },
    });
    return response.headers.get("set-cookie")!.split(";")[0]!;
  }

  /** Ann's streams: two over SSE signed in by `cookie`, and the ones that must outlive its sign-out. */
  async function openStreams(cookie: string) {
    const before = t.gateway.services.events.openSubscriptions();
    const opened = {
      session: [
        await subscribe("sse", t.url, CLAIM_UPDATES_OVER_SSE, { cookie }),
        await subscribe("sse", t.url, CLAIM_UPDATES_OVER_SSE, { cookie }),
      ],
      otherSession: await subscribe("sse", t.url, CLAIM_UPDATES_OVER_SSE, { cookie: await signIn() }),
      bearerSse: await subscribe("sse", t.url, CLAIM_UPDATES_OVER_SSE, { bearer: annToken }),
      bearerWs: await subscribe("ws", t.url, CLAIM_UPDATES_OVER_SSE, { bearer: annToken }),
    };
    const all = [...opened.session, opened.otherSession, opened.bearerSse, opened.bearerWs];
    streams.push(...all);
    await eventually(() => (t.gateway.services.events.openSubscriptions() === before + all.length ? true : undefined));
    return opened;
  }

  /** The signed-out streams end with the reason, soon; the others still tell Ann's next claim. */
  async function expectOnlySessionStreamsEnded(
    opened: Awaited<ReturnType<typeof openStreams>>,
    signedOutAt: number,
    cookie: string,
  ) {
    for (const stream of opened.session) {
      expect(await Promise.race([stream.ended, sleep(2_000).then(() => "still open after 2 s")])).toEqual({
        kind: "complete",
      });
      expect(stream.pending()).toEqual([{ data: null, errors: [expect.objectContaining(SIGNED_OUT)] }]);
    }
    expect(Date.now() - signedOutAt).toBeLessThan(2_000);
    const response = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.home.id] } });
    expect(response.status).toBe(200);
    for (const stream of [opened.otherSession, opened.bearerSse, opened.bearerWs]) {
      expect((await stream.next()).data!.orderClaimUpdated).toMatchObject({ status: "PENDING" });
    }
    await t.gateway.jobWorker!.flush();
    tokens.push(...mail.messages.map((m) => m.token!));
    // The session token never reaches a client's stream or a log line.
    const token = cookie.split("=")[1]!;
    expect(streams.flatMap((stream) => stream.frames).join("\n")).not.toContain(token);
    expect(t.logs.join("\n")).not.toContain(token);
  }

  it("DELETE /store/auth ends the SSE streams its session signed in; bearer streams and other sessions' go on", async () => {
    const cookie = await signIn();
    const opened = await openStreams(cookie);
    const signedOutAt = Date.now();
    expect((await t.request("DELETE", "/store/auth", { cookie })).status).toBe(200);
    await expectOnlySessionStreamsEnded(opened, signedOutAt, cookie);
  });

  it("the claims page's sign-out ends them too", async () => {
    const cookie = await signIn();
    const opened = await openStreams(cookie);
    // The page's form as a browser gets it: its token, and the cookie that token pairs with.
    const page = await fetch(`${t.url}/claim`, { headers: { cookie } });
    const formCookie = page.headers.get("set-cookie")!.split(";")[0]!;
    const formToken = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const signedOutAt = Date.now();
    const signOut = await fetch(`${t.url}/claim/sign-out`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: `${cookie}; ${formCookie}`, origin: t.url, "sec-fetch-site": "same-origin" },
      body: new URLSearchParams({ _csrf: formToken }),
    });
    expect(signOut.status).toBe(303);
    await expectOnlySessionStreamsEnded(opened, signedOutAt, cookie);
  });
});
