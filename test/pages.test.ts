import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromiumInstalled, launchChromium, localOnlyContext, screenshot } from "./support/browser";
import type { TestGateway } from "./support/gateway";
import { claimScenario, registerOnWorkAddress, unregisterWorkAddress, useClaimFixture } from "./support/scenarios";
import type { ReceivedMail, TestMailServer } from "./support/smtp";

// Without Chromium (a developer machine), say why and skip; CI installs it and must run these.
const available = chromiumInstalled() || process.env.CI === "true";
if (!available) console.warn("skipping the browser tests: Chromium is not installed (apt-get install -y chromium)");
const describeInBrowser = available ? describe : describe.skip;

const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";

jest.setTimeout(60_000);

const fixture = useClaimFixture();
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
let browser: Browser;
/** Every context a test opened, with the requests that tried to leave the machine. */
let contexts: { context: BrowserContext; outside: string[] }[] = [];

beforeAll(async () => {
  ({ t, mail, annToken } = fixture);
  if (available) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  const outside = contexts.flatMap((c) => c.outside);
  await Promise.all(contexts.map((c) => c.context.close()));
  contexts = [];
  // No page may reach beyond this machine (GraphiQL's assets included).
  expect(outside).toEqual([]);
});

async function newPage(options: Parameters<Browser["newContext"]>[0] = {}): Promise<Page> {
  const opened = await localOnlyContext(browser, options);
  contexts.push(opened);
  return opened.context.newPage();
}

/** Ann asks for orders by REST; resolves with the email that went to their address. */
async function claimByEmail(orderIds: string[]): Promise<ReceivedMail> {
  const response = await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: orderIds } });
  expect(response.status).toBe(200);
  const [message] = await mail.waitFor(1);
  return message!;
}

/** The link behind the email's button, as a person would click it in the HTML part. */
function buttonLink(message: ReceivedMail): string {
  const href = /<a href="([^"]+)"[^>]*>Review and confirm<\/a>/.exec(message.html)?.[1];
  expect(href).toBeDefined();
  return href!.replaceAll("&amp;", "&");
}

const ownerOf = async (orderId: string) =>
  (await t.prisma.order.findUniqueOrThrow({ where: { id: orderId } })).customer_id;
const pendingClaim = () => t.prisma.orderClaim.findFirstOrThrow({ where: { status: "PENDING" } });

async function signIn(page: Page): Promise<void> {
  await page.goto(`${t.url}/claim`);
  await page.getByLabel("Email").fill(customers.ann.email);
  await page.getByLabel("Password").fill(customers.ann.password!);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your claims" }).waitFor();
}

/** A page of another site (another host: localhost instead of the gateway's 127.0.0.1) that posts a form to `path`. */
async function postFromAnotherSite(path: string, fields: Record<string, string>): Promise<Page> {
  const inputs = Object.entries(fields).map(([name, value]) => `<input name="${name}" value="${value}">`);
  const attacker = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<form id="f" method="post" action="${t.url}${path}">${inputs.join("")}</form>
<script>document.getElementById("f").submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  try {
    const page = await newPage();
    const refused = page.waitForResponse(
      (response) => response.url() === `${t.url}${path}` && response.request().method() === "POST",
    );
    await page.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
    expect((await refused).status()).toBe(403);
    await page.getByRole("heading", { name: "This form cannot be sent" }).waitFor();
    return page;
  } finally {
    attacker.close();
  }
}

/** The Store API's answer to the token, to confirm or decline: its HTTP status. */
const tokenStatus = async (action: "confirm" | "decline", token: string) =>
  (await t.request("POST", `/store/orders/customer/${action}`, { body: { token } })).status;
const claimStatus = async (id: string) => (await t.prisma.orderClaim.findUniqueOrThrow({ where: { id } })).status;

describeInBrowser("the confirm page (the email's link)", () => {
  it("shows the claim from a real email, confirms on the button, then says the link was used", async () => {
    const message = await claimByEmail([orders.work1.id, orders.work2.id]);
    const link = buttonLink(message);
    expect(link).toMatch(new RegExp(`^${t.url}/claim/confirm\\?token=[A-Za-z0-9_-]{43}$`));
    const page = await newPage();

    // The email's HTML part, as a mail client shows it; its button opens the confirm page.
    await page.setContent(message.html);
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe(
      "Someone asked to add your orders to their account",
    );
    await screenshot(page, "claim-email");
    const shown = page.waitForResponse(link);
    await page.getByRole("link", { name: "Review and confirm" }).click();
    expect((await shown).status()).toBe(200);
    await page.getByRole("heading", { name: "Add your orders to an account?" }).waitFor();
    const facts = await page.locator("dl.facts").innerText();
    expect(facts).toContain("#1001, #1002");
    // Placed under ann.work@ (masked: the reader holds that inbox), going to Ann's account, in full.
    expect(facts).toContain("a***@example.com");
    expect(facts).toContain("ann@example.com");
    expect(facts).toMatch(/in (14|15) minutes \(\d+ \w+ \d{4}, \d\d:\d\d UTC\)/);
    expect(await page.content()).not.toContain("ann.work@example.com");
    await screenshot(page, "confirm-page");

    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("heading", { name: "Confirmed" }).waitFor();
    expect(await page.locator(".notice").innerText()).toContain(
      "Orders #1001, #1002 are now in the account ann@example.com.",
    );
    await screenshot(page, "confirm-page-confirmed");
    expect(await ownerOf(orders.work1.id)).toBe(customers.ann.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.ann.id);

    const again = await page.goto(link);
    expect(again!.status()).toBe(410);
    await page.getByRole("heading", { name: "This link was already used" }).waitFor();
    expect(await page.locator(".notice").innerText()).toContain(
      "Orders #1001, #1002 went to the account ann@example.com",
    );
    await screenshot(page, "confirm-page-used");
  });

  it("changes nothing when the link is only opened (a mail scanner's GET), nor where Decline posts", async () => {
    const message = await claimByEmail([orders.home.id]);
    const page = await newPage();
    for (let i = 0; i < 3; i++) expect((await page.goto(buttonLink(message)))!.status()).toBe(200);
    expect((await fetch(buttonLink(message))).status).toBe(200);
    // Where Decline posts, opened: nothing there answers a GET.
    const declineByGet = await page.goto(`${t.url}/claim/decline?token=${message.token}`);
    expect(declineByGet!.status()).toBe(404);
    expect((await fetch(`${t.url}/claim/decline?token=${message.token}`)).status).toBe(404);
    expect((await pendingClaim()).status).toBe("PENDING");
    expect(await ownerOf(orders.home.id)).not.toBe(customers.ann.id);
    // The token still works, once.
    expect(await tokenStatus("confirm", message.token!)).toBe(200);
  });

  it("says an expired link has expired, and a made-up one is not valid", async () => {
    const link = buttonLink(await claimByEmail([orders.home.id]));
    await t.prisma.orderClaim.updateMany({ data: { expires_at: new Date(Date.now() - 60_000) } });
    const page = await newPage();
    expect((await page.goto(link))!.status()).toBe(410);
    await page.getByRole("heading", { name: "This link has expired" }).waitFor();
    await screenshot(page, "confirm-page-expired");

    expect((await page.goto(`${t.url}/claim/confirm?token=${"x".repeat(43)}`))!.status()).toBe(404);
    await page.getByRole("heading", { name: "This link is not valid" }).waitFor();
    expect((await page.goto(`${t.url}/claim/confirm`))!.status()).toBe(400);
    await page.getByRole("heading", { name: "This link is incomplete" }).waitFor();
  });

  it("refuses a Confirm posted from another site", async () => {
    const message = await claimByEmail([orders.home.id]);
    await postFromAnotherSite("/claim/confirm", { token: message.token! });
    // Without a browser's word for it, the form token is still required.
    const bare = await fetch(`${t.url}/claim/confirm`, {
      method: "POST",
      body: new URLSearchParams({ token: message.token! }),
    });
    expect(bare.status).toBe(403);
    expect((await pendingClaim()).status).toBe("PENDING");
    expect(await ownerOf(orders.home.id)).not.toBe(customers.ann.id);
  });

  it("declines on the Decline button, signed out: the orders stay, and the link then says so", async () => {
    const message = await claimByEmail([orders.work1.id, orders.work2.id]);
    const claim = await pendingClaim();
    const page = await newPage();
    await page.goto(buttonLink(message));
    await page.getByRole("heading", { name: "Add your orders to an account?" }).waitFor();
    await page.getByRole("button", { name: "Decline" }).click();
    await page.getByRole("heading", { name: "You declined" }).waitFor();
    expect(await page.locator(".notice").innerText()).toContain("The orders stay where they are.");
    await screenshot(page, "confirm-page-declined");
    expect(await claimStatus(claim.id)).toBe("DECLINED");
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
    expect(await ownerOf(orders.work2.id)).toBe(customers.workGuest.id);

    // The link now says so, and its token serves neither Confirm nor another Decline.
    expect((await page.goto(buttonLink(message)))!.status()).toBe(410);
    await page.getByRole("heading", { name: "You declined this request" }).waitFor();
    await screenshot(page, "confirm-page-link-declined");
    expect(await tokenStatus("confirm", message.token!)).toBe(400);
    expect(await tokenStatus("decline", message.token!)).toBe(400);
    // A Decline replayed through the page (a form token from any page will do) says the same.
    const { cookie, formToken } = await confirmForm(`${t.url}/claim`);
    const replayed = await fetch(`${t.url}/claim/decline`, {
      method: "POST",
      headers: { cookie, "sec-fetch-site": "same-origin" },
      body: new URLSearchParams({ token: message.token!, _csrf: formToken }),
    });
    expect(replayed.status).toBe(410);
    expect(await replayed.text()).toContain("You declined this request");
    expect(await claimStatus(claim.id)).toBe("DECLINED");
    expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
  });

  it("refuses a Decline posted from another site", async () => {
    const message = await claimByEmail([orders.home.id]);
    await postFromAnotherSite("/claim/decline", { token: message.token! });
    const bare = await fetch(`${t.url}/claim/decline`, {
      method: "POST",
      body: new URLSearchParams({ token: message.token! }),
    });
    expect(bare.status).toBe(403);
    expect((await pendingClaim()).status).toBe("PENDING");
    // The token still works.
    expect(await tokenStatus("confirm", message.token!)).toBe(200);
  });

  it("asks for the account's password when the asking account has the inbox's own address, and confirms once it is typed", async () => {
    // Someone registered the work address (a look-alike or the real one) and asked for its guest orders.
    const squatter = await registerOnWorkAddress(t, "whoever registered it first");
    try {
      const { token } = squatter;
      expect(
        (
          await t.request("POST", "/store/orders/batch/customer/token", {
            bearer: token,
            body: { order_ids: [orders.work1.id] },
          })
        ).status,
      ).toBe(200);
      const [message] = await mail.waitFor(1);
      const page = await newPage({ viewport: { width: 320, height: 900 } });
      await page.goto(buttonLink(message!));
      await page.getByText("That account has this inbox's own address").waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
      await screenshot(page, "confirm-page-sign-in");
      // The token alone (Ann clicking the email's button) does not hand her orders over: the page
      // wants the account's password (without one, the POST is a 403: test/claim-policy.test.ts).
      await page.getByLabel(`Password of ${squatter.email}`).fill("not it");
      await page.getByRole("button", { name: "Confirm" }).click();
      expect(await page.getByRole("alert").innerText()).toContain(
        "That password is not the account's. Nothing changed.",
      );
      expect((await pendingClaim()).status).toBe("PENDING");
      await page.getByLabel(`Password of ${squatter.email}`).fill(squatter.password);
      await page.getByRole("button", { name: "Confirm" }).click();
      await page.getByRole("heading", { name: "Confirmed" }).waitFor();
    } finally {
      await unregisterWorkAddress(t);
    }
  });

  it("declines without the password where Confirm wants the asking account's", async () => {
    const squatter = await registerOnWorkAddress(t, "whoever registered it first");
    try {
      const claimed = await t.request("POST", CLAIM, {
        bearer: squatter.token,
        body: { order_ids: [orders.work1.id] },
      });
      expect(claimed.status).toBe(200);
      const [message] = await mail.waitFor(1);
      const page = await newPage();
      await page.goto(buttonLink(message!));
      await page.getByLabel(`Password of ${squatter.email}`).waitFor();
      expect(await page.locator("#decline-note").innerText()).toContain("(no password needed)");
      // The password field is Confirm's alone: left empty, it does not hold Decline back.
      await page.getByRole("button", { name: "Decline" }).click();
      await page.getByRole("heading", { name: "You declined" }).waitFor();
      expect((await t.prisma.orderClaim.findFirstOrThrow()).status).toBe("DECLINED");
      // The account's password no longer confirms it.
      expect((await page.goto(buttonLink(message!)))!.status()).toBe(410);
      const confirm = await t.request("POST", "/store/orders/customer/confirm", {
        bearer: squatter.token,
        body: { token: message!.token },
      });
      expect(confirm.status).toBe(400);
      expect(await ownerOf(orders.work1.id)).toBe(customers.workGuest.id);
    } finally {
      await unregisterWorkAddress(t);
    }
  });

  it("can be used with the keyboard alone, and reads at 320 px wide", async () => {
    const link = buttonLink(await claimByEmail([orders.home.id]));
    const page = await newPage({ viewport: { width: 320, height: 640 } });
    await page.goto(link);
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim());
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("ordergate");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Confirm");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Decline");
    await page.keyboard.press("Shift+Tab");
    expect(await focused()).toBe("Confirm");
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    await screenshot(page, "confirm-page-320px");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Confirmed" }).waitFor();
    expect(await ownerOf(orders.home.id)).toBe(customers.ann.id);
  });
});

/** The confirm page's form as a browser gets it: its cookie and its form token. */
async function confirmForm(link: string): Promise<{ cookie: string; formToken: string }> {
  const page = await fetch(link);
  const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
  const formToken = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  return { cookie, formToken };
}

/** A visitor of the pages over plain HTTP: their cookies and the form token of their forms. */
interface PageSession {
  cookie: string;
  formToken: string;
}

/** Cookies of a response merged into a `cookie` header. */
function withCookies(cookie: string, response: Response): string {
  const jar = new Map<string, string>();
  for (const pair of [...(cookie ? cookie.split("; ") : []), ...response.headers.getSetCookie()]) {
    const nameValue = pair.split(";")[0]!;
    jar.set(nameValue.slice(0, nameValue.indexOf("=")), nameValue);
  }
  return [...jar.values()].join("; ");
}

/** The claims page as a browser without scripts gets it: signed out, or signed in with its own form. */
async function pageSession(as?: { email: string; password?: string }): Promise<PageSession> {
  const open = async (cookie: string) => {
    const page = await fetch(`${t.url}/claim`, { headers: { cookie } });
    const formToken = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    return { cookie: withCookies(cookie, page), formToken };
  };
  const visitor = await open("");
  if (!as) return visitor;
  const signedIn = await fetch(`${t.url}/claim/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: visitor.cookie, "sec-fetch-site": "same-origin" },
    body: new URLSearchParams({ _csrf: visitor.formToken, email: as.email, password: as.password! }),
  });
  expect(signedIn.status).toBe(303);
  // Signed in, the forms carry a token bound to the session.
  return open(withCookies(visitor.cookie, signedIn));
}

describe("the pages over plain HTTP", () => {
  it("refuses a form that carries a valid form token when the browser says it came from another site", async () => {
    const message = await claimByEmail([orders.home.id]);
    const { cookie, formToken } = await confirmForm(buttonLink(message));
    const post = (headers: Record<string, string>) =>
      fetch(`${t.url}/claim/confirm`, {
        method: "POST",
        headers: { cookie, ...headers },
        body: new URLSearchParams({ token: message.token!, _csrf: formToken }),
      });
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "same-site" })).status).toBe(403);
    expect((await post({ origin: "http://shop.evil.example" })).status).toBe(403);
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await pendingClaim()).status).toBe("PENDING");
    // The same form from the page itself goes through.
    const sameOrigin = await post({ "sec-fetch-site": "same-origin", origin: t.url });
    expect(sameOrigin.status).toBe(200);
    expect(await sameOrigin.text()).toContain("Confirmed");
    expect(await ownerOf(orders.home.id)).toBe(customers.ann.id);
  });

  it("refuses a Decline that carries a valid form token when the browser says it came from another site", async () => {
    const message = await claimByEmail([orders.home.id]);
    const { cookie, formToken } = await confirmForm(buttonLink(message));
    const post = (headers: Record<string, string>) =>
      fetch(`${t.url}/claim/decline`, {
        method: "POST",
        headers: { cookie, ...headers },
        body: new URLSearchParams({ token: message.token!, _csrf: formToken }),
      });
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "same-site" })).status).toBe(403);
    expect((await post({ origin: "http://shop.evil.example" })).status).toBe(403);
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await pendingClaim()).status).toBe("PENDING");
    const sameOrigin = await post({ "sec-fetch-site": "same-origin", origin: t.url });
    expect(sameOrigin.status).toBe(200);
    expect(await sameOrigin.text()).toContain("You declined");
    expect((await t.prisma.orderClaim.findFirstOrThrow()).status).toBe("DECLINED");
  });

  it("cancels a claim only for its own signed-in customer, from the claims page itself", async () => {
    await claimByEmail([orders.home.id]);
    const claim = await pendingClaim();
    const fromThePage = { "sec-fetch-site": "same-origin", origin: t.url };
    const cancel = (session: PageSession, headers: Record<string, string> = fromThePage, id = claim.id) =>
      fetch(`${t.url}/claim/claims/${encodeURIComponent(id)}/cancel`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: session.cookie, ...headers },
        body: new URLSearchParams({ _csrf: session.formToken }),
      });

    // A stranger (signed out, with a form token of their own): asked to sign in, nothing canceled.
    const stranger = await pageSession();
    const refused = await cancel(stranger);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("Sign in again to cancel a request.");
    // Another customer: no such claim for him.
    const bob = await pageSession(customers.bob);
    const notHis = await cancel(bob);
    expect(notHis.status).toBe(404);
    expect(await notHis.text()).toContain("No such request");
    expect(await claimStatus(claim.id)).toBe("PENDING");

    // Ann herself, but from another site, without a form token, or with Bob's: refused.
    const ann = await pageSession(customers.ann);
    expect((await cancel(ann, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await cancel(ann, { origin: "http://shop.evil.example" })).status).toBe(403);
    expect((await cancel({ ...ann, formToken: "" })).status).toBe(403);
    expect((await cancel({ ...ann, formToken: bob.formToken })).status).toBe(403);
    expect(await claimStatus(claim.id)).toBe("PENDING");

    // From her own page: canceled, back to the list; again, the same (it is canceled).
    const canceled = await cancel(ann);
    expect(canceled.status).toBe(303);
    expect(canceled.headers.get("location")).toBe(`/claim#claim-${claim.id}`);
    expect(await claimStatus(claim.id)).toBe("CANCELED");
    expect((await cancel(ann)).status).toBe(303);
    for (const id of ["oclaim_unknown", "\u0000", "x".repeat(2000)])
      expect((await cancel(ann, fromThePage, id)).status).toBe(404);

    // A claim that ended otherwise cannot be canceled, and the page says what became of it.
    mail.messages.length = 0;
    const message = await claimByEmail([orders.work1.id]);
    expect(await tokenStatus("confirm", message.token!)).toBe(200);
    const confirmed = await t.prisma.orderClaim.findFirstOrThrow({ where: { status: "VERIFIED" } });
    const tooLate = await cancel(ann, fromThePage, confirmed.id);
    expect(tooLate.status).toBe(409);
    expect(await tooLate.text()).toContain("Its status: Confirmed.");
    expect(await claimStatus(confirmed.id)).toBe("VERIFIED");
  });

  it("sends the pages with no framing, no Referer, no caching; GraphiQL is never framed either", async () => {
    const link = buttonLink(await claimByEmail([orders.home.id]));
    for (const path of [new URL(link).pathname + new URL(link).search, "/claim"]) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
    const graphiql = await fetch(`${t.url}/graphql`, { headers: { accept: "text/html" } });
    expect(graphiql.headers.get("x-frame-options")).toBe("DENY");
    expect(graphiql.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
  });

  it("answers an unknown page under /claim with an HTML 404", async () => {
    const response = await fetch(`${t.url}/claim/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<h1 id="page-title">Not found</h1>');
  });
});

describeInBrowser("the claims page", () => {
  it("asks to sign in, and says so when the password is wrong", async () => {
    const page = await newPage();
    await page.goto(`${t.url}/claim`);
    await page.getByRole("heading", { name: "Sign in to see your claims" }).waitFor();
    await screenshot(page, "claims-sign-in");
    await page.getByLabel("Email").fill(customers.ann.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").innerText()).toContain("The email or password is incorrect.");
    expect(await page.getByLabel("Email").inputValue()).toBe(customers.ann.email);
  });

  it("shows a new claim, then flips it to Confirmed with its orders within two seconds of a confirmation elsewhere", async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByText("No claims yet").waitFor();

    const message = await claimByEmail([orders.work1.id]);
    const claim = await pendingClaim();
    const card = page.locator(`#claim-${claim.id}`);
    await card.locator(".status", { hasText: "Waiting for confirmation" }).waitFor({ timeout: 2000 });
    expect(await card.locator(".countdown").innerText()).toMatch(/^expires in (14|15):\d\d$/);
    await screenshot(page, "claims-pending");

    // The link, confirmed in another browser (another device).
    const other = await newPage();
    await other.goto(buttonLink(message));
    await other.getByRole("button", { name: "Confirm" }).click();
    await other.getByRole("heading", { name: "Confirmed" }).waitFor();
    const confirmedAt = Date.now();

    await page.locator(`#claim-${claim.id}[data-status="verified"]`).waitFor({ timeout: 2000 });
    expect(Date.now() - confirmedAt).toBeLessThan(2000);
    expect(await card.locator(".status").innerText()).toBe("Confirmed");
    expect(await card.locator("table.orders").innerText()).toContain("#1001");
    expect(await card.locator("table.orders").innerText()).toContain("$30.00");
    expect(await page.locator("#live-status").innerText()).toContain("Confirmed");
    await screenshot(page, "claims-confirmed");
    await page.setViewportSize({ width: 320, height: 640 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    // The orders table fits too, with no scrolling of its own.
    expect(await page.locator(".table-scroll").evaluate((box) => box.scrollWidth - box.clientWidth)).toBe(0);
    await screenshot(page, "claims-confirmed-320px");
  });

  it("flips a claim to Expired when its link runs out", async () => {
    await claimByEmail([orders.home.id]);
    const claim = await pendingClaim();
    const page = await newPage();
    await signIn(page);
    const card = page.locator(`#claim-${claim.id}`);
    await card.locator(".status", { hasText: "Waiting for confirmation" }).waitFor();
    await t.prisma.orderClaim.update({ where: { id: claim.id }, data: { expires_at: new Date(Date.now() + 1000) } });
    await page.locator(`#claim-${claim.id}[data-status="expired"]`).waitFor({ timeout: 5000 });
    expect(await card.locator(".status").innerText()).toBe("Expired");
    await screenshot(page, "claims-expired");
  });

  it("cancels a pending claim in place, and on her other pages; the link stops working", async () => {
    const message = await claimByEmail([orders.home.id]);
    const claim = await pendingClaim();
    const [page, elsewhere] = [await newPage(), await newPage()];
    await signIn(page);
    await signIn(elsewhere);
    const card = page.locator(`#claim-${claim.id}`);
    await card.locator(".status", { hasText: "Waiting for confirmation" }).waitFor();
    await elsewhere.locator(`#claim-${claim.id}[data-status="pending"]`).waitFor();
    // Marks this document: a reload would lose it.
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

    await card.getByRole("button", { name: "Cancel request" }).click();
    await page.locator(`#claim-${claim.id}[data-status="canceled"]`).waitFor({ timeout: 2000 });
    expect(await card.locator(".status").innerText()).toBe("Canceled by you");
    expect(await card.getByRole("button").count()).toBe(0);
    expect(await page.evaluate(() => (window as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);
    expect(await page.locator("#live-status").innerText()).toContain("Canceled by you");
    // Focus stays on the card (its heading), not thrown back to the top of the page.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(`claim-${claim.id}-title`);
    await screenshot(page, "claims-canceled");
    // Her other page hears it from the subscription.
    await elsewhere.locator(`#claim-${claim.id}[data-status="canceled"]`).waitFor({ timeout: 2000 });
    expect(await claimStatus(claim.id)).toBe("CANCELED");

    // The email's link is dead: it says the request was withdrawn, and the token confirms nothing.
    const recipient = await newPage();
    expect((await recipient.goto(buttonLink(message)))!.status()).toBe(410);
    await recipient.getByRole("heading", { name: "This request was withdrawn" }).waitFor();
    await screenshot(recipient, "confirm-page-withdrawn");
    expect(await tokenStatus("confirm", message.token!)).toBe(400);
    expect(await ownerOf(orders.home.id)).not.toBe(customers.ann.id);
  });

  it("works without the script: Cancel posts the form and comes back to the list", async () => {
    await claimByEmail([orders.home.id]);
    const claim = await pendingClaim();
    const page = await newPage({ javaScriptEnabled: false });
    await signIn(page);
    const back = page.waitForURL(`${t.url}/claim#claim-${claim.id}`);
    await page.locator(`#claim-${claim.id}`).getByRole("button", { name: "Cancel request" }).click();
    await back;
    expect(await page.locator(`#claim-${claim.id} .status`).innerText()).toBe("Canceled by you");
    expect(await claimStatus(claim.id)).toBe("CANCELED");
  });

  it("turns a claim to Declined within two seconds of the recipient's Decline", async () => {
    const message = await claimByEmail([orders.work1.id, orders.work2.id]);
    const claim = await pendingClaim();
    const page = await newPage();
    await signIn(page);
    await page.locator(`#claim-${claim.id}[data-status="pending"]`).waitFor();

    const recipient = await newPage();
    await recipient.goto(buttonLink(message));
    await recipient.getByRole("button", { name: "Decline" }).click();
    await recipient.getByRole("heading", { name: "You declined" }).waitFor();
    const declinedAt = Date.now();

    const card = page.locator(`#claim-${claim.id}`);
    await page.locator(`#claim-${claim.id}[data-status="declined"]`).waitFor({ timeout: 2000 });
    expect(Date.now() - declinedAt).toBeLessThan(2000);
    expect(await card.locator(".status").innerText()).toBe("Declined by the recipient");
    expect(await card.innerText()).toContain("Nothing moved.");
    expect(await page.locator("#live-status").innerText()).toContain("Declined by the recipient");
    await screenshot(page, "claims-declined");
  });

  it("says which orders a claim by email covers without counting them before it is confirmed", async () => {
    const byEmail = await t.request("POST", "/store/customers/me/order-claims", {
      bearer: annToken,
      body: { email: orders.home.email },
    });
    expect(byEmail.status).toBe(200);
    const claim = await pendingClaim();
    const page = await newPage();
    await signIn(page);
    const heading = page.locator(`#claim-${claim.id} h2`);
    expect(await heading.innerText()).toBe("All orders placed under a***@example.net");
    // Confirmed, it counts them.
    const [message] = await mail.waitFor(1);
    expect(await tokenStatus("confirm", message!.token!)).toBe(200);
    await page.locator(`#claim-${claim.id}[data-status="verified"]`).waitFor({ timeout: 2000 });
    expect(await heading.innerText()).toBe("1 order placed under a***@example.net");
  });

  it("answers the script's fragment requests for the customer's own claims only", async () => {
    await claimByEmail([orders.home.id]);
    const claim = await pendingClaim();
    const page = await newPage();
    await signIn(page);
    const status = (path: string) => page.evaluate(async (url) => (await fetch(url)).status, `${t.url}${path}`);
    expect(await status(`/claim/claims/${claim.id}`)).toBe(200);
    expect(await status("/claim/claims")).toBe(200);
    for (const id of ["oclaim_unknown", "%00", "%E2%9C%93", "x".repeat(2000)])
      expect(await status(`/claim/claims/${id}`)).toBe(404);
    // Another customer's claim is not there for her.
    await t.prisma.orderClaim.update({ where: { id: claim.id }, data: { claimer_customer_id: customers.bob.id } });
    expect(await status(`/claim/claims/${claim.id}`)).toBe(404);
    // Signed out, the script is told to reload (401), not shown anything.
    expect((await fetch(`${t.url}/claim/claims/${claim.id}`)).status).toBe(401);
  });

  it("signs out", async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to see your claims" }).waitFor();
  });
});

describeInBrowser("GraphiQL", () => {
  it("renders from the npm package and runs the example with nothing leaving the machine", async () => {
    const page = await newPage();
    await page.goto(`${t.url}/graphql`);
    await page.locator(".graphiql-container").first().waitFor();
    await page.getByText("logIn(email").first().waitFor();
    await page.locator(".graphiql-execute-button").click();
    await page.locator(".result-window").getByText('"token"').waitFor();
    // Monaco lays the result out with non-breaking spaces, which \s matches.
    expect(await page.locator(".result-window").innerText()).toMatch(/"email":\s+"ann@example\.com"/);
    await screenshot(page, "graphiql");
  });
});
