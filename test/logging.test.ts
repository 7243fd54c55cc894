import jwt from "jsonwebtoken";
import { createLogger, withLogContext } from "../src/lib/logger";
import { type LogEntry, logEntries, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { claimScenario, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";
import { eventually } from "./support/wait";

/** JSON log lines: one per request with its id, claim lifecycle lines, and never a secret. */
const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";

const fixture = useClaimFixture({ CLAIM_TOKEN_TTL: "2s" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
beforeAll(() => ({ t, mail, annToken } = fixture));
beforeEach(() => {
  t.logs.length = 0;
});

const requestLine = (requestId: string) =>
  eventually(() => logEntries(t).find((entry) => entry.msg === "request completed" && entry.requestId === requestId));

it("writes every line as JSON with a level, an ISO time and a message", async () => {
  await t.request("GET", "/health");
  expect(t.logs.length).toBeGreaterThan(0);
  for (const entry of logEntries(t)) {
    expect(["debug", "info", "warn", "error"]).toContain(entry.level);
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof entry.msg).toBe("string");
  }
});

it("logs one line per request with method, route template, status and duration, under the client's x-request-id", async () => {
  const response = await t.request("GET", `/store/orders/${orders.work1.id}?fields=id`, {
    headers: { "x-request-id": "req-from-proxy.42" },
  });
  expect(response.headers.get("x-request-id")).toBe("req-from-proxy.42");
  const line = await requestLine("req-from-proxy.42");
  expect(line).toEqual(
    expect.objectContaining({ level: "info", method: "GET", route: "/store/orders/:id", status: 200 }),
  );
  expect(line.durationMs).toEqual(expect.any(Number));
  // The path with its id and the query string stay out of the line.
  expect(JSON.stringify(line)).not.toContain(orders.work1.id);
  expect(
    logEntries(t).filter((entry) => entry.requestId === "req-from-proxy.42" && entry.msg === "request completed"),
  ).toHaveLength(1);
});

it("keeps a line's fields to that line: later lines of the request carry only its context", () => {
  const lines: string[] = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
  withLogContext({ requestId: "r-1" }, () => {
    logger.info("first", { claimId: "oclaim_1" });
    logger.info("second");
  });
  const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(first).toEqual(expect.objectContaining({ msg: "first", requestId: "r-1", claimId: "oclaim_1" }));
  expect(second).toEqual(expect.objectContaining({ msg: "second", requestId: "r-1" }));
  expect(second).not.toHaveProperty("claimId");
});

it("makes its own request id when none (or an unusable one) is sent", async () => {
  for (const sent of [undefined, "has spaces and\ttabs", "x".repeat(200)]) {
    const response = await t.request("GET", "/nothing", { headers: sent ? { "x-request-id": sent } : {} });
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await requestLine(id)).toEqual(expect.objectContaining({ route: "(unmatched)", status: 404 }));
  }
});

it("logs the claim lifecycle with ids and masked emails, each line under the request it happened in", async () => {
  const claimed = await t.request("POST", CLAIM, {
    bearer: annToken,
    body: { order_ids: [orders.work1.id, orders.home.id] },
    headers: { "x-request-id": "claim-1" },
  });
  expect(claimed.status).toBe(200);
  // Through the REST door and Yoga's pipeline, the lines keep the request's id.
  const opened = logEntries(t).filter((entry) => entry.msg === "claim opened");
  expect(opened).toEqual([
    expect.objectContaining({
      requestId: "claim-1",
      claimerId: customers.ann.id,
      recipient: "a***@example.com",
      orders: 1,
    }),
    expect.objectContaining({
      requestId: "claim-1",
      claimerId: customers.ann.id,
      recipient: "a***@example.net",
      orders: 1,
    }),
  ]);
  expect((await requestLine("claim-1")).route).toBe(CLAIM);

  const messages = await mail.waitFor(2);
  const sent = await eventually(() => {
    const lines = logEntries(t).filter((entry) => entry.msg === "claim email sent");
    return lines.length === 2 ? lines : undefined;
  });
  expect(sent.map((entry) => entry.claimId).sort()).toEqual(opened.map((entry) => entry.claimId).sort());

  const workMessage = messages.find((message) => message.to[0] === "ann.work@example.com")!;
  await t.request("POST", CONFIRM, { body: { token: workMessage.token }, headers: { "x-request-id": "confirm-1" } });
  const verified = logEntries(t).find((entry) => entry.msg === "claim verified")!;
  expect(verified).toEqual(
    expect.objectContaining({ requestId: "confirm-1", claimerId: customers.ann.id, ordersMoved: 1 }),
  );

  // The other claim runs out (CLAIM_TOKEN_TTL 2s) and the sweep says so.
  const expired = await eventually(() => logEntries(t).find((entry) => entry.msg === "claims expired"), 5000);
  expect(expired.claimIds).toEqual([opened.find((entry) => entry.recipient === "a***@example.net")!.claimId]);

  // A newer request for the same orders supersedes the open claim.
  await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work2.id] } });
  await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work2.id] } });
  expect(logEntries(t).find((entry) => entry.msg === "claims superseded by a newer request")).toEqual(
    expect.objectContaining({ claimIds: [expect.any(String)] }),
  );

  // No token, sign-in or address in the clear, anywhere.
  const everything = t.logs.join("\n");
  for (const secret of [
    ...messages.map((message) => message.token),
    annToken,
    customers.ann.password!,
    "ann.work@example.com",
    "ann.home@example.net",
  ]) {
    expect(everything).not.toContain(secret);
  }
});

it("does not warn about a client's expired or forged token: the client is signed out, nothing more", async () => {
  const expired = jwt.sign(
    { customer_id: customers.ann.id, domain: "store", exp: Math.floor(Date.now() / 1000) - 60 },
    TEST_JWT_SECRET,
  );
  for (const bearer of [
    expired,
    "not.a.jwt",
    jwt.sign({ customer_id: customers.ann.id, domain: "store" }, "another-secret-0123456789"),
  ]) {
    expect((await t.graphql("{ me { id } }", {}, bearer)).data).toEqual({ me: null });
  }
  expect(logEntries(t).filter((entry) => entry.level === "warn" || entry.level === "error")).toEqual([]);
});

it("logs a client that hangs up as an aborted request, not an error", async () => {
  const controller = new AbortController();
  const stream = fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      authorization: `Bearer ${annToken}`,
      "x-request-id": "sse-1",
    },
    body: JSON.stringify({ query: "subscription { orderClaimUpdated { id } }" }),
    signal: controller.signal,
  });
  await (await stream).body!.getReader().read();
  controller.abort();
  const line: LogEntry = await eventually(() =>
    logEntries(t).find((entry) => entry.requestId === "sse-1" && entry.msg.startsWith("request")),
  );
  expect(line).toEqual(
    expect.objectContaining({ level: "info", msg: "request aborted by the client", route: "/graphql" }),
  );
  expect(logEntries(t).filter((entry) => entry.level === "error")).toEqual([]);
});
