import { type TestGateway, startTestGateway } from "./support/gateway";
import {
  claimScenario,
  defineScenario,
  loginToken,
  registerOnWorkAddress,
  seedScenario,
  storeTokenFor,
  unregisterWorkAddress,
  useClaimFixture,
} from "./support/scenarios";
import { type ReceivedMail, TestMailServer } from "./support/smtp";

/**
 * The claim policy of design.md §3: emails compared one way (never a pattern, Unicode case,
 * whatever the database's locale), orders in another account never claimable, an email and a
 * confirm page that let the inbox owner tell whose account it is, and recipient allowances that
 * one claimer cannot spend for another.
 */
const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
const LOOKUP = "/store/orders";

/** Guest orders whose addresses PostgreSQL's C locale cannot lower-case, loaded beside the claim scenario. */
const unicodeScenario = defineScenario({
  customers: {},
  orders: {
    elise: {
      id: "order_e1",
      display_id: 2001,
      email: "ÉLISE@Example.com",
      items: [{ title: "Vase", unit_price: 3100, quantity: 1 }],
    },
    tabbed: {
      id: "order_t1",
      display_id: 2002,
      email: "ann.tab@example.com",
      items: [{ title: "Lamp", unit_price: 2100, quantity: 1 }],
    },
  },
});

const CLAIM_ORDERS = `mutation ($ids: [ID!]!) {
  claimOrders(orderIds: $ids) {
    __typename
    ... on ClaimOrdersSuccess { claims { id recipientEmail } }
    ... on ClaimEmailsWithheldError { code message retryAfterSeconds }
  }
}`;
type ClaimOrdersAnswer = {
  claimOrders: {
    __typename: string;
    claims?: { id: string; recipientEmail: string }[];
    code?: string;
    message?: string;
    retryAfterSeconds?: number;
  };
};

const ownerOf = async (t: TestGateway, orderId: string) =>
  (await t.prisma.order.findUniqueOrThrow({ where: { id: orderId } })).customer_id;

/** The confirm page as a browser first gets it: its HTML, its form-token cookie and form token. */
async function openConfirmPage(
  t: TestGateway,
  token: string,
  cookie = "",
): Promise<{ status: number; page: string; cookies: string; formToken: string }> {
  const response = await fetch(`${t.url}/claim/confirm?token=${token}`, { headers: cookie ? { cookie } : {} });
  const page = await response.text();
  const formCookie = response.headers.get("set-cookie")?.split(";")[0] ?? "";
  return {
    status: response.status,
    page,
    cookies: [cookie, formCookie].filter(Boolean).join("; "),
    formToken: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "",
  };
}

/** Presses Confirm on the page (same origin), with the fields given. */
async function pressConfirm(t: TestGateway, token: string, fields: Record<string, string> = {}, cookie = "") {
  const form = await openConfirmPage(t, token, cookie);
  const response = await fetch(`${t.url}/claim/confirm`, {
    method: "POST",
    headers: { cookie: form.cookies, "sec-fetch-site": "same-origin", origin: t.url },
    body: new URLSearchParams({ token, _csrf: form.formToken, ...fields }),
  });
  return { status: response.status, page: await response.text() };
}

describe("with the claim scenario", () => {
  const fixture = useClaimFixture();
  let t: TestGateway;
  let mail: TestMailServer;
  let annToken: string;
  beforeAll(() => ({ t, mail, annToken } = fixture));
  beforeEach(async () => {
    await seedScenario(t.prisma, unicodeScenario);
    // A tab before the address: the seed loader trims, so it is written as a store might have stored it.
    await t.prisma.order.update({
      where: { id: unicodeScenario.orders.tabbed.id },
      data: { email: "\tann.tab@example.com" },
    });
  });

  describe("emails are compared in one way, never as a pattern", () => {
    it.each([
      ["SQL LIKE wildcards", "%@%.%"],
      ["a one-character wildcard", "_nn.work@example.com"],
      ["a wildcard in the domain", "ann.work@example.co_"],
      ["a backslash escape", "ann\\.work@example.com"],
    ])("GET /store/orders finds nothing for %s", async (_name, email) => {
      const response = await t.request("GET", `${LOOKUP}?display_id=1001&email=${encodeURIComponent(email)}`);
      expect(response.status).toBe(404);
      expect(response.json).toMatchObject({ type: "not_found" });
      expect(response.text).not.toContain("order_w1");
    });

    it("orderLookup finds nothing for wildcards, however many aliases ask", async () => {
      const aliases = Array.from(
        { length: 6 },
        (_, i) => `o${i}: orderLookup(displayId: ${1001 + (i % 3)}, email: "%@%.%") { id email }`,
      ).join("\n");
      const answer = await t.graphql<Record<string, unknown>>(`{ ${aliases} }`);
      expect(answer.errors).toBeUndefined();
      expect(Object.values(answer.data!)).toEqual(Array(6).fill(null));
    });

    it("finds the order for its address in any case and with surrounding white space, in both doors", async () => {
      const response = await t.request(
        "GET",
        `${LOOKUP}?display_id=1002&email=${encodeURIComponent("  ANN.work@EXAMPLE.com ")}`,
      );
      expect(response.status).toBe(200);
      expect(response.json.order.id).toBe(orders.work2.id);
      const answer = await t.graphql<{ orderLookup: { id: string } | null }>(
        `{ orderLookup(displayId: 1002, email: "ann.work@example.com") { id } }`,
      );
      expect(answer.data!.orderLookup).toEqual({ id: orders.work2.id });
    });

    it("lower-cases beyond ASCII the same way in the lookup as in the claim (É finds é)", async () => {
      const response = await t.request(
        "GET",
        `${LOOKUP}?display_id=2001&email=${encodeURIComponent("élise@example.com")}`,
      );
      expect(response.status).toBe(200);
      expect(response.json.order.id).toBe(unicodeScenario.orders.elise.id);
      // A different accent is a different address.
      expect(
        (await t.request("GET", `${LOOKUP}?display_id=2001&email=${encodeURIComponent("elise@example.com")}`)).status,
      ).toBe(404);
    });

    it.each([
      ["an address with a non-ASCII capital (ÉLISE@...)", unicodeScenario.orders.elise.id, "élise@example.com"],
      ["an address stored with a tab before it", unicodeScenario.orders.tabbed.id, "ann.tab@example.com"],
    ])("claims and moves %s: the confirmation moves what the claim grouped", async (_name, orderId, recipient) => {
      const claimed = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orderId] } });
      expect(claimed.status).toBe(200);
      const [message] = await mail.waitFor(1);
      expect(message!.to).toEqual([recipient]);
      const confirmed = await t.request("POST", CONFIRM, { body: { token: message!.token } });
      expect(confirmed.status).toBe(200);
      expect(await ownerOf(t, orderId)).toBe(customers.ann.id);
      const link = await t.prisma.orderClaimOrder.findFirstOrThrow({ where: { order_id: orderId } });
      expect(link.transferred_at).not.toBeNull();
    });

    it("does not move an order whose email changed after the claim was opened", async () => {
      await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id, orders.work2.id] } });
      const [message] = await mail.waitFor(1);
      await t.prisma.order.update({ where: { id: orders.work2.id }, data: { email: "someone.else@example.com" } });
      expect((await t.request("POST", CONFIRM, { body: { token: message!.token } })).status).toBe(200);
      expect(await ownerOf(t, orders.work1.id)).toBe(customers.ann.id);
      expect(await ownerOf(t, orders.work2.id)).toBe(customers.workGuest.id);
    });
  });

  describe("whose orders can be claimed", () => {
    it("skips an order in another customer's account like an unknown id: no claim, no email, in both doors", async () => {
      const rest = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.bobs.id] } });
      expect(rest.status).toBe(200);
      expect(rest.json).toEqual({});
      const graphql = await t.graphql<ClaimOrdersAnswer>(CLAIM_ORDERS, { ids: [orders.bobs.id] }, annToken);
      expect(graphql.data!.claimOrders).toEqual({ __typename: "ClaimOrdersSuccess", claims: [] });
      await t.gateway.jobWorker!.flush();
      expect(mail.messages).toEqual([]);
      expect(await t.prisma.orderClaim.count()).toBe(0);
    });

    it("claims the guest orders of a request that also names an account's order, and only those", async () => {
      const answer = await t.graphql<ClaimOrdersAnswer>(
        CLAIM_ORDERS,
        { ids: [orders.bobs.id, orders.work1.id] },
        annToken,
      );
      expect(answer.data!.claimOrders.claims!.map((claim) => claim.recipientEmail)).toEqual(["a***@example.com"]);
      const links = await t.prisma.orderClaimOrder.findMany();
      expect(links.map((link) => link.order_id)).toEqual([orders.work1.id]);
    });

    it("takes the same orders of an address by their ids as by the address alone: its guest orders, not a canceled one, the claimer's own or one in an account", async () => {
      // Every order of the scenario under one address: two guest orders, a canceled one, Ann's own and Bob's.
      const address = customers.workGuest.email;
      await t.prisma.order.updateMany({
        where: { id: { in: [orders.annOwn.id, orders.bobs.id] } },
        data: { email: address },
      });
      const linkedOrders = async (claimId: string) =>
        (await t.prisma.orderClaimOrder.findMany({ where: { claim_id: claimId }, orderBy: { order_id: "asc" } })).map(
          (link) => link.order_id,
        );
      const byIds = await t.request("POST", CLAIM, {
        bearer: annToken,
        body: { order_ids: [orders.work1.id, orders.work2.id, orders.canceled.id, orders.annOwn.id, orders.bobs.id] },
      });
      expect(byIds.status).toBe(200);
      const [idsClaim] = await t.prisma.orderClaim.findMany();
      const byEmail = await t.request("POST", "/store/customers/me/order-claims", {
        bearer: annToken,
        body: { email: address },
      });
      expect(byEmail.status).toBe(200);
      const emailClaim = await t.prisma.orderClaim.findFirstOrThrow({ where: { by_email: true } });
      const guestOrders = [orders.work1.id, orders.work2.id].sort();
      expect(await linkedOrders(idsClaim!.id)).toEqual(guestOrders);
      expect(await linkedOrders(emailClaim.id)).toEqual(guestOrders);
    });

    it("does not move an order that went into an account after the claim was opened", async () => {
      await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id, orders.work2.id] } });
      const [message] = await mail.waitFor(1);
      await t.prisma.order.update({ where: { id: orders.work1.id }, data: { customer_id: customers.bob.id } });
      const verified = await t.graphql<{ verifyOrderClaim: { transferredOrderIds?: string[] } }>(
        `mutation ($token: String!) { verifyOrderClaim(token: $token) { ... on VerifyOrderClaimSuccess { transferredOrderIds } } }`,
        { token: message!.token },
      );
      expect(verified.data!.verifyOrderClaim.transferredOrderIds).toEqual([orders.work2.id]);
      expect(await ownerOf(t, orders.work1.id)).toBe(customers.bob.id);
    });
  });

  describe("the inbox owner can tell whose account it is", () => {
    it("the email and the confirm page name the asking account in full, with its age", async () => {
      await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } });
      const [message] = await mail.waitFor(1);
      expect(message!.subject).toBe("Someone asked to add order #1001 to their account");
      expect(message!.text).toMatch(/signed in to the account ann@example\.com \(created \d+ minutes? ago\)/);
      expect(message!.text).toContain("If you do not know that account, you can also ignore this email");
      expect(message!.text).toContain("Open the link and choose Decline");
      const { status, page } = await openConfirmPage(t, message!.token!);
      expect(status).toBe(200);
      expect(page).toContain('<strong class="account">ann@example.com</strong> (an account created');
      expect(page).not.toContain("a***@example.com</strong>");
      // Ann's account has another address than the inbox: the token alone confirms.
      expect(page).not.toContain('name="password"');
      expect((await pressConfirm(t, message!.token!)).status).toBe(200);
      expect(await ownerOf(t, orders.work1.id)).toBe(customers.ann.id);
    });

    it("makes a look-alike address visible: characters outside ASCII as code points", async () => {
      // A Cyrillic а in place of the Latin a.
      const lookAlike = {
        email: "\u0430nn@example.com",
        password: "a password of mine",
        first_name: "Mallory",
        last_name: "M",
      };
      expect((await t.request("POST", "/store/customers", { body: lookAlike })).status).toBe(200);
      try {
        const token = await loginToken(t, lookAlike.email, lookAlike.password);
        expect((await t.request("POST", CLAIM, { bearer: token, body: { order_ids: [orders.work1.id] } })).status).toBe(
          200,
        );
        const [message] = await mail.waitFor(1);
        expect(message!.text).toContain("[U+0430]nn@example.com");
        expect(message!.text).toContain("characters outside ASCII");
        const { page } = await openConfirmPage(t, message!.token!);
        expect(page).toContain("[U+0430]nn@example.com");
        expect(page).not.toContain("\u0430nn@");
      } finally {
        await t.prisma.orderClaim.deleteMany();
        await t.prisma.customer.deleteMany({ where: { email: lookAlike.email } });
      }
    });

    it("asks for the account's password when the asking account has the inbox's own address, and refuses the token alone", async () => {
      // Someone registered Ann's work address before she did, with a password of their own.
      const squatter = await registerOnWorkAddress(t, "the squatter's password");
      try {
        const { token } = squatter;
        expect((await t.request("POST", CLAIM, { bearer: token, body: { order_ids: [orders.work1.id] } })).status).toBe(
          200,
        );
        const [message] = await mail.waitFor(1);
        expect(message!.text).toContain(`signed in to the account ${squatter.email}`);

        const { page } = await openConfirmPage(t, message!.token!);
        expect(page).toContain("That account has this inbox's own address");
        expect(page).toContain(`Password of ${squatter.email}`);
        expect(page).toContain('name="password"');

        const withoutPassword = await pressConfirm(t, message!.token!);
        expect(withoutPassword.status).toBe(403);
        expect(withoutPassword.page).toContain("Enter the password of that account to confirm.");
        const wrongPassword = await pressConfirm(t, message!.token!, { password: customers.ann.password! });
        expect(wrongPassword.status).toBe(401);
        expect((await t.prisma.orderClaim.findFirstOrThrow()).status).toBe("PENDING");
        expect(await ownerOf(t, orders.work1.id)).toBe(customers.workGuest.id);

        // Whoever knows the account's password (Ann, had she registered it herself) confirms.
        const signedIn = await pressConfirm(t, message!.token!, { password: squatter.password });
        expect(signedIn.status).toBe(200);
        expect(signedIn.page).toContain("Confirmed");
        expect(await ownerOf(t, orders.work1.id)).not.toBe(customers.workGuest.id);
      } finally {
        await unregisterWorkAddress(t);
      }
    });

    it("confirms without a password for someone signed in to that account by its session", async () => {
      const owner = await registerOnWorkAddress(t, "ann's own password");
      try {
        const session = (
          await t.request("POST", "/store/auth", { body: { email: owner.email, password: owner.password } })
        ).headers
          .get("set-cookie")!
          .split(";")[0]!;
        expect(
          (await t.request("POST", CLAIM, { cookie: session, body: { order_ids: [orders.work2.id] } })).status,
        ).toBe(200);
        const [message] = await mail.waitFor(1);
        const { page } = await openConfirmPage(t, message!.token!, session);
        expect(page).toContain("you are signed in to it");
        expect(page).not.toContain('name="password"');
        expect((await pressConfirm(t, message!.token!, {}, session)).status).toBe(200);
        expect((await t.prisma.orderClaim.findFirstOrThrow()).status).toBe("VERIFIED");
        // The REST confirm keeps Medusa's token-only contract (docs/medusa-differences.md).
      } finally {
        await unregisterWorkAddress(t);
      }
    });
  });
});

describe("recipient allowances", () => {
  let t: TestGateway;
  let mail: TestMailServer;
  beforeAll(async () => {
    mail = await new TestMailServer().start();
    t = await startTestGateway({
      SMTP_URL: mail.url,
      RATE_LIMITS: "on",
      RATE_LIMIT_CLAIM_RECIPIENT: "2/1h",
      RATE_LIMIT_CLAIM_RECIPIENT_TOTAL: "3/1h",
      RATE_LIMIT_LOOKUP_IP: "4/1h",
    });
    await seedScenario(t.prisma, claimScenario);
  });
  afterAll(async () => {
    await t?.close();
    await mail?.stop();
  });

  it("are counted per claimer, so one claimer cannot spend another's; a ceiling per address stays; a withheld claim says so", async () => {
    const bob = storeTokenFor(customers.bob.id);
    const ann = storeTokenFor(customers.ann.id);
    const claimWork = (token: string) => t.graphql<ClaimOrdersAnswer>(CLAIM_ORDERS, { ids: [orders.work1.id] }, token);
    expect((await claimWork(bob)).data!.claimOrders.__typename).toBe("ClaimOrdersSuccess");
    expect((await claimWork(bob)).data!.claimOrders.__typename).toBe("ClaimOrdersSuccess");
    const withheld = (await claimWork(bob)).data!.claimOrders;
    expect(withheld).toMatchObject({ __typename: "ClaimEmailsWithheldError", code: "CLAIM_EMAILS_WITHHELD" });
    expect(withheld.retryAfterSeconds).toBeGreaterThan(0);
    // It names no order and no address.
    expect(withheld.message).not.toMatch(/order_|#1001|@/);
    const rest = await t.request("POST", CLAIM, { bearer: bob, body: { order_ids: [orders.work1.id] } });
    expect(rest.status).toBe(429);
    expect(rest.json).toMatchObject({ type: "not_allowed", code: "rate_limited" });
    expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(0);

    // Ann's own claim still goes out: Bob spent his allowance with that address, not hers.
    expect((await claimWork(ann)).data!.claimOrders.__typename).toBe("ClaimOrdersSuccess");
    // Three emails in all reached the address this hour: the ceiling holds for everyone.
    expect((await claimWork(ann)).data!.claimOrders.__typename).toBe("ClaimEmailsWithheldError");
    await t.gateway.jobWorker!.flush();
    // Bob's first email may be dropped: his second claim superseded it before it went out.
    const received = await mail.waitFor(2);
    expect(received.every((message: ReceivedMail) => message.to[0] === "ann.work@example.com")).toBe(true);
    // Withheld claims wrote nothing: only three claims exist (Bob's first superseded by his second).
    expect(await t.prisma.orderClaim.count()).toBe(3);
  });

  it("count every order lookup per client address, found or not, across both doors", async () => {
    const lookUp = (email: string) => t.request("GET", `${LOOKUP}?display_id=1001&email=${encodeURIComponent(email)}`);
    expect((await lookUp("nobody@example.com")).status).toBe(404);
    expect((await lookUp("ann.work@example.com")).status).toBe(200);
    const graphql = await t.graphql<{ a: unknown; b: unknown }>(
      `{ a: orderLookup(displayId: 1001, email: "x@example.com") { id } }`,
    );
    expect(graphql.data!.a).toBeNull();
    expect((await lookUp("nobody@example.com")).status).toBe(404);
    const refused = await lookUp("ann.work@example.com");
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ type: "not_allowed", code: "rate_limited" });
    const refusedGraphQL = await t.graphql(`{ orderLookup(displayId: 1001, email: "ann.work@example.com") { id } }`);
    expect(refusedGraphQL.errors![0]).toMatchObject({ extensions: { code: "RATE_LIMITED" } });
  });
});

describe("ordergate's own routes signed in by the session cookie", () => {
  const fixture = useClaimFixture({ STORE_CORS: "https://shop.example" });
  let t: TestGateway;
  beforeAll(() => ({ t } = fixture));

  const signIn = async () =>
    (
      await t.request("POST", "/store/auth", { body: { email: customers.ann.email, password: customers.ann.password } })
    ).headers
      .get("set-cookie")!
      .split(";")[0]!;

  it.each([
    ["another site", { origin: "https://evil.example", "sec-fetch-site": "cross-site" }],
    [
      "a sibling subdomain (same site, so SameSite=Lax sends the cookie)",
      { origin: "https://account.shop.example.evil", "sec-fetch-site": "same-site" },
    ],
    ["an Origin of null", { origin: "null" }],
  ])("refuse an unsafe request from %s: 403, nothing claimed, still signed in", async (_name, headers) => {
    const cookie = await signIn();
    const claim = await t.request("POST", CLAIM, { cookie, headers, body: { order_ids: [orders.work1.id] } });
    expect(claim.status).toBe(403);
    expect(claim.json).toMatchObject({ type: "not_allowed" });
    expect(claim.text).not.toContain(cookie.split("=")[1]!);
    expect(await t.prisma.orderClaim.count()).toBe(0);
    expect((await t.request("DELETE", "/store/auth", { cookie, headers })).status).toBe(403);
    expect((await t.request("GET", "/store/auth", { cookie })).status).toBe(200);
  });

  it.each([
    ["the same origin", (url: string) => ({ origin: url, "sec-fetch-site": "same-origin" })],
    ["a storefront STORE_CORS lists", () => ({ origin: "https://shop.example", "sec-fetch-site": "cross-site" })],
    ["a server (no Origin, no Sec-Fetch-Site)", () => ({})],
  ])("let an unsafe request from %s act with the cookie", async (_name, headers) => {
    const cookie = await signIn();
    const claim = await t.request("POST", CLAIM, {
      cookie,
      headers: headers(t.url),
      body: { order_ids: [orders.work1.id] },
    });
    expect(claim.status).toBe(200);
    expect(await t.prisma.orderClaim.count()).toBe(1);
  });

  it("leaves bearer requests alone: another site cannot make a browser send a bearer token", async () => {
    const claim = await t.request("POST", CLAIM, {
      bearer: fixture.annToken,
      headers: { origin: "https://evil.example" },
      body: { order_ids: [orders.work1.id] },
    });
    expect(claim.status).toBe(200);
  });
});

describe("the confirm page's password, attacked by whoever holds the link", () => {
  let t: TestGateway;
  let mail: TestMailServer;
  beforeAll(async () => {
    mail = await new TestMailServer().start();
    t = await startTestGateway({ SMTP_URL: mail.url, RATE_LIMITS: "on", RATE_LIMIT_LOGIN_EMAIL: "2/1h" });
    await seedScenario(t.prisma, claimScenario);
  });
  afterAll(async () => {
    await t?.close();
    await mail?.stop();
  });

  it("counts each password against the account's sign-in limit: guessing stops at 429, nothing moves", async () => {
    // The owner's own sign-in (registerOnWorkAddress signs in) counts too: one of the two attempts an hour.
    const owner = await registerOnWorkAddress(t, "the owner's password");
    const { token } = owner;
    expect((await t.request("POST", CLAIM, { bearer: token, body: { order_ids: [orders.work1.id] } })).status).toBe(
      200,
    );
    const [message] = await mail.waitFor(1);
    expect((await pressConfirm(t, message!.token!, { password: "guess 1" })).status).toBe(401);
    const refused = await pressConfirm(t, message!.token!, { password: owner.password });
    expect(refused.status).toBe(429);
    expect(refused.page).toContain("Too many sign-in attempts for this email.");
    expect((await t.prisma.orderClaim.findFirstOrThrow()).status).toBe("PENDING");
    expect(await ownerOf(t, orders.work1.id)).toBe(customers.workGuest.id);
  });
});
