import { Client } from "pg";
import { type Db, Prisma } from "../src/db/database";
import { outboxStatsStatement } from "../src/jobs/outbox-jobs";
import { JobWorker } from "../src/jobs/worker";
import { ORDER_CLAIM_UPDATED, ORDER_UPDATE_TOKEN_CREATED } from "../src/events/topics";
import { PurgeJob } from "../src/jobs/purge";
import { createLogger } from "../src/lib/logger";
import { useTestDatabase } from "./support/database";
import { logEntries, startTestGateway } from "./support/gateway";
import { delayOutboxJob, idleDeclineAndCancelHandlers, lockOutboxJob, parkOutboxEvent } from "./support/outbox";
import { eventually } from "./support/wait";

const DAY_MS = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

const testDatabase = useTestDatabase();
let prisma: Db;
beforeAll(() => ({ prisma } = testDatabase));
beforeEach(async () => {
  await prisma.$executeRawUnsafe(
    `TRUNCATE "ordergate"."outbox_event", "ordergate"."customer_session", "customer" CASCADE`,
  );
  // Their jobs too (graphile-worker's private table: no public function removes jobs by the dozen).
  await prisma.$executeRawUnsafe(`DELETE FROM "graphile_worker"."_private_jobs"`);
});

/**
 * An outbox row in the given state; `label` lands in the payload to tell rows apart. `parked_at`
 * parks its job (after `attempts` attempts); `attempts` alone makes its job wait for a retry.
 */
async function outboxRow(
  label: string,
  fields: Partial<Prisma.OutboxEventCreateInput> & { parked_at?: Date } = {},
): Promise<bigint> {
  const { parked_at, attempts, ...data } = fields;
  const row = await prisma.outboxEvent.create({
    data: {
      topic: ORDER_CLAIM_UPDATED,
      payload: { label },
      ...data,
      attempts: data.delivered_at ? (attempts ?? 1) : 0,
    },
  });
  if (parked_at) await parkOutboxEvent(prisma, row.id, "failed", attempts ?? 10);
  return row.id;
}

const remainingLabels = async () =>
  (await prisma.outboxEvent.findMany({ orderBy: { id: "asc" } })).map(
    (row) => (row.payload as { label: string }).label,
  );

describe("purge", () => {
  it("deletes delivered events past the retention and expired sessions, in batches; keeps undelivered, parked and recent rows", async () => {
    for (let i = 1; i <= 5; i++)
      await outboxRow(`old delivered ${i}`, { created_at: ago(9 * DAY_MS), delivered_at: ago(8 * DAY_MS) });
    await outboxRow("recent delivered", { created_at: ago(6 * DAY_MS), delivered_at: ago(6 * DAY_MS) });
    await outboxRow("old undelivered", { created_at: ago(30 * DAY_MS), attempts: 4 });
    await outboxRow("old parked", { created_at: ago(30 * DAY_MS), parked_at: ago(20 * DAY_MS), attempts: 10 });
    await prisma.customer.create({ data: { id: "cus_1", email: "ann@example.com", has_account: true } });
    const session = (id: string, expiresAt: Date) =>
      prisma.customerSession.create({ data: { id: id.padEnd(64, "0"), customer_id: "cus_1", expires_at: expiresAt } });
    for (const id of ["a", "b", "c"]) await session(id, ago(60_000));
    await session("live", new Date(Date.now() + 3_600_000));

    // Two rows per statement: five old events take three statements, three sessions two.
    const job = new PurgeJob({
      prisma,
      config: { outboxRetentionMs: 7 * DAY_MS },
      logger: createLogger("silent"),
      batchSize: 2,
    });
    expect(await job.runOnce()).toEqual({ outboxEvents: 5, sessions: 3 });

    expect(await remainingLabels()).toEqual(["recent delivered", "old undelivered", "old parked"]);
    expect((await prisma.customerSession.findMany()).map((s) => s.id)).toEqual(["live".padEnd(64, "0")]);
    expect(await job.runOnce()).toEqual({ outboxEvents: 0, sessions: 0 });
  });

  it("keeps delivered events for OUTBOX_RETENTION (here one day)", async () => {
    await outboxRow("delivered 2 days ago", { delivered_at: ago(2 * DAY_MS) });
    await outboxRow("delivered 2 hours ago", { delivered_at: ago(2 * 3_600_000) });
    const job = new PurgeJob({ prisma, config: { outboxRetentionMs: DAY_MS }, logger: createLogger("silent") });
    expect(await job.runOnce()).toEqual({ outboxEvents: 1, sessions: 0 });
    expect(await remainingLabels()).toEqual(["delivered 2 hours ago"]);
  });

  it("runs when the gateway starts, and says what it deleted", async () => {
    await outboxRow("old delivered", { delivered_at: ago(8 * DAY_MS) });
    await outboxRow("old parked", { parked_at: ago(8 * DAY_MS) });
    const t = await startTestGateway({ DATABASE_URL: testDatabase.url });
    try {
      // The line is written once the whole run (sessions too) is done; the rows go before it.
      await eventually(() =>
        logEntries(t).some(
          (entry) =>
            entry.msg === "purged delivered outbox events and expired sessions" &&
            entry.outboxEvents === 1 &&
            entry.sessions === 0,
        )
          ? true
          : undefined,
      );
      expect(await remainingLabels()).toEqual(["old parked"]);
    } finally {
      await t.close();
    }
  });
});

describe("outboxStats", () => {
  const worker = () =>
    new JobWorker({
      prisma,
      databaseUrl: testDatabase.url,
      config: { outboxPollMs: 100, outboxMaxAttempts: 3, outboxRetryMaxMs: 500 },
      logger: createLogger("silent"),
      handlers: {
        [ORDER_UPDATE_TOKEN_CREATED]: async () => {},
        [ORDER_CLAIM_UPDATED]: async () => {},
        ...idleDeclineAndCancelHandlers,
      },
    });

  it("counts pending and parked events and gives the oldest pending one's age", async () => {
    expect(await worker().outboxStats()).toEqual({ pending: 0, parked: 0, oldestPendingAgeSeconds: null });

    await delayOutboxJob(
      prisma,
      await outboxRow("pending for a minute", { created_at: ago(60_000) }),
      2,
      new Date(Date.now() + 60_000),
    );
    await outboxRow("new");
    await lockOutboxJob(prisma, await outboxRow("leased now"), 1);
    await outboxRow("parked long ago", { created_at: ago(DAY_MS), parked_at: ago(DAY_MS), attempts: 3 });
    await outboxRow("delivered long ago", { created_at: ago(2 * DAY_MS), delivered_at: ago(2 * DAY_MS) });
    await outboxRow("delivered", { delivered_at: new Date() });

    const stats = await worker().outboxStats();
    expect(stats).toMatchObject({ pending: 3, parked: 1 });
    expect(stats.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(60);
    expect(stats.oldestPendingAgeSeconds).toBeLessThan(90);
  });
});

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(node: Record<string, unknown>): Record<string, unknown>[] {
  return [node, ...((node.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(planNodes)];
}

describe("queue queries with a long delivered history", () => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ connectionString: testDatabase.url });
    return client.connect();
  });
  afterAll(() => client?.end());

  const explain = async (options: string, statement: Prisma.Sql) => {
    const { rows } = await client.query(`EXPLAIN (${options}, FORMAT JSON) ${statement.text}`, statement.values);
    return rows[0]["QUERY PLAN"][0] as { Plan: Record<string, unknown> };
  };

  it("keeps delivered rows out of the queue, and reads the backlog without walking 200,000 delivered rows", async () => {
    await client.query(`
      INSERT INTO "ordergate"."outbox_event" ("topic", "payload", "attempts", "created_at", "delivered_at")
      SELECT 'order-claim.updated', jsonb_build_object('claimId', 'claim_' || n, 'claimerCustomerId', 'cus_' || n, 'status', 'VERIFIED'),
        1, now() - interval '1 day', now() - interval '1 day'
      FROM generate_series(1, 200000) AS n`);
    for (let i = 1; i <= 3; i++) await outboxRow(`due ${i}`);
    await outboxRow("parked", { parked_at: new Date(), attempts: 10 });
    // What autovacuum does after a bulk load; the planner decides on these statistics.
    await client.query(`ANALYZE "ordergate"."outbox_event"`);

    // graphile-worker's queue holds the undelivered rows' jobs only: what it takes jobs from stays small.
    const { rows: jobs } = await client.query(`SELECT count(*)::int AS count FROM "graphile_worker"."jobs"`);
    expect(jobs[0].count).toBe(4);

    const statsNodes = planNodes((await explain("COSTS", outboxStatsStatement)).Plan);
    expect(
      statsNodes.filter((node) => node["Node Type"] === "Seq Scan" && node["Relation Name"] === "outbox_event"),
    ).toEqual([]);
    // Run for real: it touches a handful of pages, where a walk would read thousands.
    const { Plan: plan } = await explain("ANALYZE, BUFFERS", outboxStatsStatement);
    expect((plan["Shared Hit Blocks"] as number) + (plan["Shared Read Blocks"] as number)).toBeLessThan(100);
    expect(await workerStats()).toMatchObject({ pending: 3, parked: 1 });
  });

  const workerStats = async () =>
    (await prisma.$queryRaw<{ pending: number; parked: number }[]>(outboxStatsStatement))[0];
});
