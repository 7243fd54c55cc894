import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { Db } from "../src/db/database";
import { JobWorker } from "../src/jobs/worker";
import { ORDER_CLAIM_UPDATED, ORDER_UPDATE_TOKEN_CREATED } from "../src/events/topics";
import { createLogger } from "../src/lib/logger";
import { useTestDatabase } from "./support/database";
import { logEntries, startTestGateway, type TestGateway } from "./support/gateway";
import { claimScenario, loginToken, seedScenario } from "./support/scenarios";
import {
  idleDeclineAndCancelHandlers,
  lockOutboxJobAsDeadWorker,
  outboxEvent,
  parkOutboxEvent,
  setOutboxJobAttempts,
} from "./support/outbox";
import { TestMailServer } from "./support/smtp";
import { eventually, freePort, sleep } from "./support/wait";

const parkedLines = (t: TestGateway) => logEntries(t).filter((entry) => entry.msg.startsWith("outbox event parked"));

const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
const ROOT = path.resolve(__dirname, "..");
const run = promisify(execFile);

/** `npm run outbox -- ...args` as a real process on the given database. */
async function outboxCommand(
  databaseUrl: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "src/cli/outbox.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

describe("parking an outbox event that keeps failing", () => {
  let t: TestGateway | undefined;
  let mail: TestMailServer | undefined;
  afterEach(async () => {
    await t?.close();
    await mail?.stop();
    t = mail = undefined;
  });

  it("parks the email after OUTBOX_MAX_ATTEMPTS attempts, keeps it, and delivers it once re-queued with npm run outbox", async () => {
    const port = await freePort(); // no mail server there yet: every attempt fails
    t = await startTestGateway({ SMTP_URL: `smtp://127.0.0.1:${port}`, OUTBOX_MAX_ATTEMPTS: "3" });
    await seedScenario(t.prisma, claimScenario);
    const bearer = await loginToken(t, customers.ann.email, customers.ann.password!);
    expect((await t.request("POST", CLAIM, { bearer, body: { order_ids: [orders.work1.id] } })).status).toBe(200);

    // graphile-worker's backoff: attempts e (2.7) and e² (7.4) seconds apart.
    const parked = await eventually(async () => {
      const row = (await outboxEvent(t!.prisma, { topic: ORDER_UPDATE_TOKEN_CREATED }))!;
      return row.parked_at ? row : undefined;
    }, 30_000);
    expect(parked).toMatchObject({ attempts: 3, delivered_at: null, locked: false });
    expect(parked.last_error).toMatch(/ECONNREFUSED|connect/i);
    const token = (parked.secret as { token: string }).token; // kept for the re-queue
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(parkedLines(t)).toEqual([
      expect.objectContaining({
        level: "warn",
        eventId: String(parked.id),
        topic: ORDER_UPDATE_TOKEN_CREATED,
        attempts: 3,
      }),
    ]);
    expect(
      logEntries(t)
        .filter((entry) => entry.msg === "outbox delivery failed, retrying")
        .map((entry) => entry.attempt),
    ).toEqual([1, 2]);

    // Parked: not leased again, not even once the mail server is back.
    mail = await new TestMailServer(port).start();
    await t.gateway.jobWorker!.flush();
    await sleep(800); // several polls, longer than OUTBOX_RETRY_MAX
    expect(mail.messages).toHaveLength(0);
    expect(await outboxEvent(t.prisma, { id: parked.id })).toMatchObject({ attempts: 3, parked_at: parked.parked_at });
    expect(await t.gateway.jobWorker!.outboxStats()).toMatchObject({ pending: 0, parked: 1 });

    const listed = await outboxCommand(t.config.databaseUrl!, "list-parked");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${parked.id}\\s+${ORDER_UPDATE_TOKEN_CREATED}\\s+3\\s+`, "m"));
    expect(listed.stdout).not.toContain(token);

    const requeued = await outboxCommand(t.config.databaseUrl!, "requeue", String(parked.id));
    expect(requeued).toMatchObject({ code: 0, stdout: expect.stringContaining("re-queued 1 outbox event") });

    const [message] = await mail.waitFor(1);
    expect(message!.to).toEqual(["ann.work@example.com"]);
    expect(message!.token).toBe(token);
    const delivered = await eventually(async () => {
      const row = (await outboxEvent(t!.prisma, { id: parked.id }))!;
      return row.delivered_at ? row : undefined;
    });
    expect(delivered).toMatchObject({ attempts: 1, parked_at: null, secret: null });
    expect((await t.request("POST", CONFIRM, { body: { token } })).status).toBe(200);
    expect(t.logs.join("\n")).not.toContain(token);
    expect(parkedLines(t)).toHaveLength(1);
  }, 60_000); // two CLI processes (tsx start-up): slow on a busy machine

  it("parks without another try an event whose final attempt never finished (its instance died)", async () => {
    t = await startTestGateway({ OUTBOX_MAX_ATTEMPTS: "3" });
    await t.gateway.jobWorker!.stop(); // this test drives a job worker itself
    const claimUpdate = {
      claimId: "claim_1",
      claimerCustomerId: "cus_nobody",
      status: "PENDING",
      at: new Date().toISOString(),
    };
    // Taken for its third attempt by an instance that died: its lease ran out, no outcome recorded.
    const event = await t.prisma.outboxEvent.create({ data: { topic: ORDER_CLAIM_UPDATED, payload: claimUpdate } });
    await lockOutboxJobAsDeadWorker(t.prisma, event.id, 3);
    await t.gateway.jobWorker!.flush();
    const row = (await outboxEvent(t.prisma, { id: event.id }))!;
    expect(row).toMatchObject({
      attempts: 3,
      delivered_at: null,
      last_error: expect.stringContaining("the final attempt never finished"),
    });
    expect(row.parked_at).not.toBeNull();
    expect(parkedLines(t)).toEqual([
      expect.objectContaining({ eventId: String(event.id), topic: ORDER_CLAIM_UPDATED, attempts: 3 }),
    ]);
  });

  it("counts an event as delivered, not parked, when a slow attempt succeeds after another instance parked it", async () => {
    t = await startTestGateway({ OUTBOX_MAX_ATTEMPTS: "3" });
    await t.gateway.jobWorker!.stop();
    const slow = new JobWorker({
      prisma: t.prisma,
      databaseUrl: t.config.databaseUrl!,
      config: t.config,
      logger: createLogger("silent"),
      handlers: {
        ...idleDeclineAndCancelHandlers,
        [ORDER_UPDATE_TOKEN_CREATED]: async () => {},
        // While this attempt runs, another instance tries to park the row (graphile-worker leaves a running job be).
        [ORDER_CLAIM_UPDATED]: async ({ id }) => void (await parkOutboxEvent(t!.prisma, id)),
      },
    });
    const event = await t.prisma.outboxEvent.create({ data: { topic: ORDER_CLAIM_UPDATED, payload: {} } });
    await setOutboxJobAttempts(t.prisma, event.id, 2);
    await slow.flush();
    await slow.stop();
    const row = (await outboxEvent(t.prisma, { id: event.id }))!;
    expect(row).toMatchObject({ attempts: 3, parked_at: null, delivered_at: expect.any(Date) });
    expect(await slow.outboxStats()).toEqual({ pending: 0, parked: 0, oldestPendingAgeSeconds: null });
  });
});

describe("a slow delivery", () => {
  let t: TestGateway | undefined;
  afterEach(() => t?.close());

  it("keeps its lease while it runs, so another instance does not send it again, and emails go out several at once", async () => {
    t = await startTestGateway();
    await t.gateway.jobWorker!.stop();
    const started: bigint[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const instance = (name: string, sendMs: number) =>
      new JobWorker({
        prisma: t!.prisma,
        databaseUrl: t!.config.databaseUrl!,
        config: t!.config,
        logger: createLogger("silent"),
        leaseSeconds: 2,
        concurrency: 3,
        handlers: {
          ...idleDeclineAndCancelHandlers,
          [ORDER_UPDATE_TOKEN_CREATED]: async ({ id }) => {
            started.push(id);
            mostInFlight = Math.max(mostInFlight, ++inFlight);
            await sleep(sendMs);
            inFlight--;
          },
          [ORDER_CLAIM_UPDATED]: async () => {
            throw new Error(`${name} got a status event`);
          },
        },
      });
    const events = await Promise.all(
      Array.from({ length: 3 }, () =>
        t!.prisma.outboxEvent
          .create({ data: { topic: ORDER_UPDATE_TOKEN_CREATED, payload: {} } })
          .then((row) => row.id),
      ),
    );
    // A takes 3.5 s per email, longer than its 2 s lease (which it renews); B looks for work after the lease would have run out.
    const a = instance("A", 3500);
    await a.start();
    await sleep(2600);
    const b = instance("B", 0);
    await b.start();
    await b.flush();
    await a.flush();
    await Promise.all([a.stop(), b.stop()]);
    expect(started.sort()).toEqual([...events].sort());
    expect(mostInFlight).toBe(3);
    const rows = await Promise.all(events.map(async (id) => (await outboxEvent(t!.prisma, { id }))!));
    expect(rows.map((row) => ({ attempts: row.attempts, delivered: row.delivered_at !== null }))).toEqual(
      events.map(() => ({ attempts: 1, delivered: true })),
    );
  });

  it("marks each event delivered as soon as it is sent, so that a crash would send again only those in flight", async () => {
    t = await startTestGateway();
    await t.gateway.jobWorker!.stop();
    const concurrency = 3;
    const sent: bigint[] = [];
    /** At each send's start: how many sent events are not marked delivered (a crash would send them again). */
    const unmarkedAtStart: number[] = [];
    const worker = new JobWorker({
      prisma: t.prisma,
      databaseUrl: t.config.databaseUrl!,
      config: t.config,
      logger: createLogger("silent"),
      concurrency,
      handlers: {
        ...idleDeclineAndCancelHandlers,
        [ORDER_UPDATE_TOKEN_CREATED]: async ({ id }) => {
          unmarkedAtStart.push(
            await t!.prisma.outboxEvent.count({ where: { id: { in: [...sent] }, delivered_at: null } }),
          );
          sent.push(id);
        },
        [ORDER_CLAIM_UPDATED]: async () => {},
      },
    });
    for (let i = 0; i < 12; i++)
      await t.prisma.outboxEvent.create({ data: { topic: ORDER_UPDATE_TOKEN_CREATED, payload: {} } });
    await worker.start();
    await worker.flush();
    await worker.stop();
    expect(sent).toHaveLength(12); // one batch
    // The other workers' events at most: never those this worker or earlier rounds sent.
    expect(Math.max(...unmarkedAtStart)).toBeLessThanOrEqual(concurrency - 1);
    expect(await t.prisma.outboxEvent.count({ where: { delivered_at: null } })).toBe(0);
  });
});

describe("npm run outbox", () => {
  const testDatabase = useTestDatabase();
  let prisma: Db;
  beforeAll(() => ({ prisma } = testDatabase));
  beforeEach(() => prisma.outboxEvent.deleteMany());

  const event = (fields: { parked_at?: Date; delivered_at?: Date } = {}) =>
    prisma.outboxEvent
      .create({
        data: {
          topic: ORDER_CLAIM_UPDATED,
          payload: {},
          attempts: fields.delivered_at ? 1 : 0,
          delivered_at: fields.delivered_at,
        },
      })
      .then(async (row) => {
        if (fields.parked_at) await parkOutboxEvent(prisma, row.id, "failed 10 times", 10);
        return row.id;
      });

  it.each([
    [[], "no command given"],
    [["requeue"], "requeue needs the ids of parked events (see list-parked), or --all"],
    [["requeue", "12", "abc", "-3"], "not an outbox event id: abc, -3"],
    [["requeue", "--all", "12"], "requeue takes event ids or --all, not both"],
    [["list-parked", "12"], "list-parked takes no arguments (got: 12)"],
    [["purge"], "unknown command: purge"],
  ])("refuses the arguments %j with exit code 2, a message and the usage", async (args, message) => {
    const result = await outboxCommand(testDatabase.url, ...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("usage: npm run outbox -- list-parked");
  });

  it("refuses unknown and unparked ids with exit code 1 and re-queues none of the ids given", async () => {
    const parked = await event({ parked_at: new Date() });
    const waiting = await event();
    const delivered = await event({ delivered_at: new Date() });
    const unknown = delivered + 1000n;

    const result = await outboxCommand(
      testDatabase.url,
      "requeue",
      String(parked),
      String(waiting),
      String(delivered),
      String(unknown),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("requeue refused, nothing was re-queued");
    expect(result.stderr).toContain(`outbox event ${waiting} is not parked: it is waiting for delivery`);
    expect(result.stderr).toContain(`outbox event ${delivered} is not parked: it was delivered at`);
    expect(result.stderr).toContain(`no outbox event ${unknown}`);
    expect(result.stderr).not.toContain(`outbox event ${parked} `);
    expect(await outboxEvent(prisma, { id: parked })).toMatchObject({ attempts: 10, parked_at: expect.any(Date) });
  });

  it("re-queues every parked event with --all, and lists none afterwards", async () => {
    const parked = [await event({ parked_at: new Date() }), await event({ parked_at: new Date() })];
    const delivered = await event({ delivered_at: new Date() });

    expect(await outboxCommand(testDatabase.url, "requeue", "--all")).toMatchObject({
      code: 0,
      stdout: "re-queued 2 outbox events; a running gateway delivers them at its next poll\n",
    });
    for (const id of parked) {
      expect(await outboxEvent(prisma, { id })).toMatchObject({ attempts: 0, parked_at: null, locked: false });
    }
    expect(await outboxEvent(prisma, { id: delivered })).toMatchObject({ attempts: 1, delivered_at: expect.any(Date) });
    expect(await outboxCommand(testDatabase.url, "list-parked")).toMatchObject({
      code: 0,
      stdout: "no parked outbox events\n",
    });
  });
});
