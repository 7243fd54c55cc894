import pg from "pg";
import type { Db } from "../src/db/database";
import { ORDER_CLAIM_UPDATED, ORDER_UPDATE_TOKEN_CREATED } from "../src/events/topics";
import { listParkedOutboxEvents, requeueParkedOutboxEvents } from "../src/jobs/outbox-jobs";
import { JobWorker } from "../src/jobs/worker";
import { createLogger } from "../src/lib/logger";
import { useTestDatabase } from "./support/database";
import { idleDeclineAndCancelHandlers, outboxEvent, outboxEvents } from "./support/outbox";

/**
 * One graphile-worker job per writing transaction (the outbox_batch_jobs migration): its payload
 * the ids of the rows the transaction wrote, each delivered on its own.
 */
const testDatabase = useTestDatabase();
let prisma: Db;
let worker: JobWorker | undefined;
beforeAll(() => ({ prisma } = testDatabase));
beforeEach(async () => {
  await prisma.$executeRawUnsafe(`DELETE FROM "graphile_worker"."_private_jobs"`);
  await prisma.outboxEvent.deleteMany();
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

/** The ids each job delivers, by job, jobs in the order they were added. */
async function jobPayloads(): Promise<bigint[][]> {
  const rows = await prisma.$queryRaw<{ ids: bigint[] }[]>`
    SELECT ARRAY(SELECT "ordergate"."outbox_job_event_ids"(j."id")) AS "ids"
    FROM "graphile_worker"."jobs" AS j WHERE j."task_identifier" = 'ordergate:outbox' ORDER BY j."id"`;
  return rows.map((row) => row.ids.map(BigInt));
}

const statusEvent = { topic: ORDER_CLAIM_UPDATED, payload: {} };

const threeEventsInOneTransaction = () =>
  prisma.$transaction(async (tx) =>
    (await tx.outboxEvent.createManyAndReturn({ data: [statusEvent, statusEvent, statusEvent] })).map((r) => r.id),
  );

/** A worker whose status handler fails for the ids in `failing`, counting every delivery by id. */
function countingWorker(failing: Set<bigint>, maxAttempts = 1) {
  const deliveries = new Map<bigint, number>();
  const count = (id: bigint) => deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
  worker = new JobWorker({
    prisma,
    databaseUrl: testDatabase.url,
    config: { outboxPollMs: 100, outboxMaxAttempts: maxAttempts, outboxRetryMaxMs: 1000 },
    logger: createLogger("silent"),
    concurrency: 2,
    handlers: {
      ...idleDeclineAndCancelHandlers,
      [ORDER_CLAIM_UPDATED]: async ({ id }) => {
        count(id);
        if (failing.has(id)) throw new Error(`status ${id} refused by a test`);
      },
      [ORDER_UPDATE_TOKEN_CREATED]: async ({ id }) => void count(id),
    },
  });
  return { worker, deliveries };
}

describe("outbox jobs", () => {
  it("adds one job per writing transaction, holding every row it wrote and none of a subtransaction that failed", async () => {
    const together = await prisma.$transaction(async (tx) => {
      const first = await tx.outboxEvent.create({ data: statusEvent });
      await tx.$executeRawUnsafe("SAVEPOINT request");
      const undone = await tx.outboxEvent.create({ data: statusEvent });
      await tx.$executeRawUnsafe("ROLLBACK TO SAVEPOINT request");
      const rows = await tx.outboxEvent.createManyAndReturn({
        data: [statusEvent, { topic: ORDER_UPDATE_TOKEN_CREATED, payload: {} }],
      });
      return { ids: [first.id, ...rows.map((row) => row.id)], undone: undone.id };
    });
    const alone = (await prisma.outboxEvent.create({ data: statusEvent })).id;
    const delivered = await prisma.outboxEvent.create({ data: { ...statusEvent, delivered_at: new Date() } });

    expect(await jobPayloads()).toEqual([together.ids, [alone]]);
    expect(await prisma.outboxEvent.count({ where: { id: together.undone } })).toBe(0);
    expect((await outboxEvent(prisma, { id: delivered.id }))!.job_id).toBeNull();
  });

  it("queues nothing of a transaction that rolled back, not even in the next transaction on the same connection", async () => {
    const client = new pg.Client({ connectionString: testDatabase.url });
    await client.connect();
    try {
      const insert = `INSERT INTO "ordergate"."outbox_event" ("topic", "payload") VALUES ('${ORDER_CLAIM_UPDATED}', '{}') RETURNING "id"`;
      await client.query("BEGIN");
      await client.query(insert);
      await client.query("ROLLBACK"); // as a crash mid-transaction leaves it
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string }>(insert);
      await client.query("COMMIT");
      expect(await jobPayloads()).toEqual([[BigInt(rows[0]!.id)]]);
      const { rows: setting } = await client.query<{ value: string | null }>(
        `SELECT current_setting('ordergate.outbox_unqueued', true) AS "value"`,
      );
      expect(setting[0]!.value ?? "").toBe("");
    } finally {
      await client.end();
    }
  });

  it("retries only the rows of a job that failed: the others are delivered once, and the failed one is parked alone", async () => {
    const failingIds = new Set<bigint>();
    const { worker, deliveries } = countingWorker(failingIds);
    await worker.start(); // its OUTBOX_MAX_ATTEMPTS (1) is what the jobs added from now on get
    const ids = await threeEventsInOneTransaction();
    const failing = ids[1]!;
    failingIds.add(failing);
    await worker.flush();

    expect([...deliveries.entries()].sort()).toEqual(ids.map((id) => [id, 1]).sort());
    const rows = await outboxEvents(prisma);
    expect(rows.map((row) => [row.id, row.delivered_at !== null, row.parked_at !== null])).toEqual([
      [ids[0], true, false],
      [failing, false, true],
      [ids[2], true, false],
    ]);
    expect(rows[1]!.last_error).toContain(`status ${failing} refused by a test`);
    expect(await jobPayloads()).toEqual([[failing]]);
    expect((await listParkedOutboxEvents(prisma)).map((row) => row.id)).toEqual([failing]);
    expect(await worker.outboxStats()).toMatchObject({ pending: 0, parked: 1 });
  });

  it("re-queues a parked event with the others its job holds (they failed with it), and delivers each once", async () => {
    const failing = new Set<bigint>();
    const { worker, deliveries } = countingWorker(failing);
    await worker.start();
    const ids = await threeEventsInOneTransaction();
    failing.add(ids[0]!).add(ids[2]!);
    await worker.flush();
    expect((await listParkedOutboxEvents(prisma)).map((row) => row.id)).toEqual([ids[0], ids[2]]);

    failing.clear();
    expect(await requeueParkedOutboxEvents(prisma, [ids[0]!])).toBe(2);
    await worker.flush();
    expect(deliveries).toEqual(
      new Map([
        [ids[0], 2],
        [ids[1], 1],
        [ids[2], 2],
      ]),
    );
    expect(await prisma.outboxEvent.count({ where: { delivered_at: null } })).toBe(0);
    expect(await listParkedOutboxEvents(prisma)).toEqual([]);
  });

  it("still delivers a job added before batches, whose payload names one row", async () => {
    const worker = countingWorker(new Set()).worker;
    const id = await prisma.$transaction(async (tx) => {
      const row = await tx.outboxEvent.create({ data: statusEvent });
      // As the migration before found it: the row's own job, keyed by its id.
      await tx.$executeRaw`SELECT set_config('ordergate.outbox_unqueued', '', true)`;
      await tx.$executeRaw`SELECT FROM "graphile_worker"."add_job"('ordergate:outbox', json_build_object('id', ${row.id}::bigint),
        job_key => 'ordergate:outbox:' || ${row.id}::bigint)`;
      return row.id;
    });
    expect(await jobPayloads()).toEqual([[id]]);
    await worker.start();
    await worker.flush();
    expect(await outboxEvent(prisma, { id })).toMatchObject({ attempts: 1, delivered_at: expect.any(Date) });
  });
});
