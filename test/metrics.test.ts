import { OrderClaimStatus } from "../src/db/generated/prisma/enums";
import { scrapeMetrics, startTestGateway, type TestGateway } from "./support/gateway";
import { claimScenario, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";
import { subscribe } from "./support/subscriptions";
import { eventually } from "./support/wait";

/** `/metrics` counts what happened, through both doors, in Prometheus's text format. */
const { orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
const CLAIM_ORDERS = "mutation ($ids: [ID!]!) { claimOrders(orderIds: $ids) { __typename } }";

const fixture = useClaimFixture({ RATE_LIMITS: "on", RATE_LIMIT_CONFIRM_IP: "1/1h" });
let t: TestGateway;
let mail: TestMailServer;
let annToken: string;
beforeAll(() => ({ t, mail, annToken } = fixture));

/** Every sample of a scrape, in Prometheus's text format. */
async function scrape(): Promise<Map<string, number>> {
  const format = (await t.request("GET", "/metrics")).headers.get("content-type");
  expect(format).toMatch(/^text\/plain; version=0\.0\.4/);
  return scrapeMetrics(t);
}

it("counts requests, operations through both doors, claims, mail, refusals, subscriptions and connections", async () => {
  const before = await scrape();
  const delta = (after: Map<string, number>, sample: string) => (after.get(sample) ?? 0) - (before.get(sample) ?? 0);

  expect((await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } })).status).toBe(
    200,
  );
  expect(
    (
      await t.request("POST", "/graphql", {
        bearer: annToken,
        body: { query: CLAIM_ORDERS, variables: { ids: [orders.home.id] } },
      })
    ).status,
  ).toBe(200);
  // Routing ignores case: the label does not.
  expect((await t.request("GET", `/STORE/orders/${orders.work2.id}`)).status).toBe(200);
  expect((await t.request("GET", "/no/such/route")).status).toBe(404);
  expect((await t.request("POST", CONFIRM, { body: { token: "a".repeat(43) } })).status).toBe(400);
  expect((await t.request("POST", CONFIRM, { body: { token: "a".repeat(43) } })).status).toBe(429);
  await mail.waitFor(2);
  await t.gateway.jobWorker!.flush();
  const stream = await subscribe("sse", t.url, "subscription { orderClaimUpdated { id } }", { bearer: annToken });

  const after = await eventually(async () => {
    const samples = await scrape();
    // Database readings serve a second's scrapes: wait for one taken after the claims.
    const caughtUp =
      samples.get('ordergate_claims{status="PENDING"}') === 2 && samples.get("ordergate_outbox_pending_events") === 0;
    return caughtUp &&
      samples.get('ordergate_mails_total{outcome="sent"}') ===
        (before.get('ordergate_mails_total{outcome="sent"}') ?? 0) + 2
      ? samples
      : undefined;
  });
  // HTTP, by route template (never a raw path), method and status.
  expect(delta(after, `ordergate_http_requests_total{method="POST",route="${CLAIM}",status="200"}`)).toBe(1);
  expect(delta(after, 'ordergate_http_requests_total{method="POST",route="/graphql",status="200"}')).toBe(1);
  expect(delta(after, 'ordergate_http_requests_total{method="GET",route="/store/orders/:id",status="200"}')).toBe(1);
  expect(delta(after, 'ordergate_http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(1);
  expect(delta(after, `ordergate_http_requests_total{method="POST",route="${CONFIRM}",status="429"}`)).toBe(1);
  expect(delta(after, `ordergate_http_request_duration_seconds_count{method="POST",route="${CLAIM}"}`)).toBe(1);
  expect([...after.keys()].some((sample) => sample.includes(orders.work2.id))).toBe(false);
  // GraphQL operations: the REST door's claim went through the same pipeline as /graphql's.
  expect(delta(after, 'ordergate_graphql_operations_total{type="mutation",field="claimOrders",outcome="ok"}')).toBe(2);
  expect(
    delta(after, 'ordergate_graphql_operations_total{type="mutation",field="verifyOrderClaim",outcome="ok"}'),
  ).toBe(1);
  expect(
    delta(after, 'ordergate_graphql_operations_total{type="mutation",field="verifyOrderClaim",outcome="error"}'),
  ).toBe(1);
  expect(
    delta(after, 'ordergate_graphql_operations_total{type="subscription",field="orderClaimUpdated",outcome="ok"}'),
  ).toBe(1);
  // State read at scrape time.
  expect(after.get('ordergate_claims{status="PENDING"}')).toBe(2);
  expect(after.get("ordergate_outbox_pending_events")).toBe(0);
  expect(after.get("ordergate_outbox_oldest_pending_age_seconds")).toBe(0);
  expect(after.get("ordergate_outbox_parked_events")).toBe(0);
  expect(delta(after, 'ordergate_rate_limit_refusals_total{limit="confirmPerIp"}')).toBe(1);
  expect(after.get("ordergate_open_subscriptions")).toBe(1);
  expect(after.get('ordergate_database_connections{state="open"}')).toBeGreaterThanOrEqual(1);
  expect(after.get("ordergate_process_resident_memory_bytes")).toBeGreaterThan(0);

  await stream.close();
  await eventually(async () => ((await scrape()).get("ordergate_open_subscriptions") === 0 ? true : undefined));
});

it("counts a mail the transport refused as failed, and shows the backlog while it waits", async () => {
  const before = await scrape();
  await mail.stop();
  try {
    expect((await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work2.id] } })).status).toBe(
      200,
    );
    const during = await eventually(async () => {
      const samples = await scrape();
      const failed =
        (samples.get('ordergate_mails_total{outcome="failed"}') ?? 0) >
        (before.get('ordergate_mails_total{outcome="failed"}') ?? 0);
      // A database reading serves a second's scrapes: wait for one taken while the mail waits.
      return failed && (samples.get("ordergate_outbox_pending_events") ?? 0) >= 1 ? samples : undefined;
    });
    expect(during.get("ordergate_outbox_oldest_pending_age_seconds")).toBeGreaterThan(0);
  } finally {
    await mail.start();
  }
  await mail.waitFor(1);
});

it("shows claims in every status, a canceled one included", async () => {
  const before = await scrape();
  const delta = (after: Map<string, number>, sample: string) => (after.get(sample) ?? 0) - (before.get(sample) ?? 0);
  expect((await t.request("POST", CLAIM, { bearer: annToken, body: { order_ids: [orders.work1.id] } })).status).toBe(
    200,
  );
  const [claim] = (await t.request("GET", "/store/customers/me/order-claims", { bearer: annToken })).json.order_claims;
  const canceled = await t.request("DELETE", `/store/customers/me/order-claims/${claim.id}`, { bearer: annToken });
  expect(canceled.status).toBe(200);

  // Database readings serve a second's scrapes: wait for one taken after the cancel.
  const after = await eventually(async () => {
    const samples = await scrape();
    return samples.get('ordergate_claims{status="CANCELED"}') === 1 ? samples : undefined;
  });
  for (const status of Object.values(OrderClaimStatus)) {
    expect({ status, sample: after.get(`ordergate_claims{status="${status}"}`) }).toEqual({
      status,
      sample: status === OrderClaimStatus.CANCELED ? 1 : 0,
    });
  }
  const route = "/store/customers/me/order-claims/:id";
  expect(delta(after, `ordergate_http_requests_total{method="DELETE",route="${route}",status="200"}`)).toBe(1);
  expect(
    delta(after, 'ordergate_graphql_operations_total{type="mutation",field="cancelOrderClaim",outcome="ok"}'),
  ).toBe(1);
});

describe("with METRICS_PORT", () => {
  it("serves /metrics on that port only (same HOST), and closes it on shutdown", async () => {
    const own = await startTestGateway({ METRICS_PORT: "0" });
    let closed = false;
    try {
      const metricsUrl = own.gateway.metricsUrl!;
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(metricsUrl).not.toBe(own.url);
      const scraped = await fetch(`${metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain("ordergate_http_requests_total");
      // The public port no longer has it; the metrics port has nothing else.
      expect((await own.request("GET", "/metrics")).status).toBe(404);
      for (const path of ["/health", "/graphql", "/store/auth/a@example.com"])
        expect((await fetch(`${metricsUrl}${path}`)).status).toBe(404);
      // A scraper's keep-alive connection does not hold the shutdown up.
      await own.close();
      closed = true;
      await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();
    } finally {
      if (!closed) await own.close();
    }
  });
});
