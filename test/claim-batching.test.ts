import pg from "pg";
import { BATCHES_IN_FLIGHT } from "../src/db/database";
import { startTestGateway, type TestGateway } from "./support/gateway";
import { defineScenario, seedScenario, storeTokenFor } from "./support/scenarios";
import { TestMailServer } from "./support/smtp";
import { eventually, sleep } from "./support/wait";

/**
 * Claims that arrive while a write is in flight go to PostgreSQL together (one statement, one
 * commit: `open_order_claims_batch`). Each request must still get its own answer, in its order.
 */
const CLAIMERS = 8;
const claimers = Array.from({ length: CLAIMERS }, (_, i) => `cus_claimer_${i}`);
/** Each claimer's own guest address, with two orders; and one address every claimer claims from. */
const scenario = defineScenario({
  customers: Object.fromEntries([
    ...claimers.map((id) => [id, { id, email: `${id}@example.com`, password: "correct horse", has_account: true }]),
    ...claimers.map((id) => [`${id}_guest`, { id: `${id}_guest`, email: `${id}.guest@example.com` }]),
    ["shared_guest", { id: "shared_guest", email: "shared@example.com" }],
  ]),
  orders: Object.fromEntries([
    ...claimers.flatMap((id, i) =>
      [0, 1].map((n) => [
        `${id}_${n}`,
        {
          id: `order_${id}_${n}`,
          display_id: 100 + 2 * i + n,
          email: `${id}.guest@example.com`,
          customer_id: `${id}_guest`,
        },
      ]),
    ),
    ["shared", { id: "order_shared", display_id: 99, email: "shared@example.com", customer_id: "shared_guest" }],
  ]),
});

const CLAIM = `mutation Claim($orderIds: [ID!]!) {
  claimOrders(orderIds: $orderIds) {
    __typename
    ... on ClaimOrdersSuccess { claims { id status recipientEmail orderCount } }
    ... on Error { code message }
  }
}`;

let t: TestGateway;
let mail: TestMailServer;
let admin: pg.Client;

beforeAll(async () => {
  mail = await new TestMailServer().start();
  t = await startTestGateway({ SMTP_URL: mail.url });
  await seedScenario(t.prisma, scenario);
  admin = new pg.Client({ connectionString: t.config.databaseUrl });
  await admin.connect();
  // Which transaction wrote each claim: claims opened by one batch share it.
  await admin.query(`
    CREATE TABLE "claim_written_by" ("claim_id" varchar PRIMARY KEY, "xid" xid8 NOT NULL);
    CREATE FUNCTION "record_claim_transaction"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO "claim_written_by" VALUES (NEW."id", pg_current_xact_id());
      RETURN NEW;
    END $$;
    CREATE TRIGGER "record_claim_transaction" AFTER INSERT ON "ordergate"."order_claim"
      FOR EACH ROW EXECUTE FUNCTION "record_claim_transaction"();`);
});

afterAll(async () => {
  await admin?.end();
  await t?.close();
  await mail?.stop();
});

beforeEach(async () => {
  await t.gateway.jobWorker!.flush();
  mail.messages.length = 0;
  await t.prisma.orderClaim.deleteMany();
  await t.prisma.outboxEvent.deleteMany();
  await admin.query(`DELETE FROM "claim_written_by"`);
});

type ClaimAnswer =
  | { __typename: "ClaimOrdersSuccess"; claims: { id: string; status: string; recipientEmail: string }[] }
  | { __typename: string; code: string; message: string };

async function claim(customerId: string, orderIds: string[]): Promise<ClaimAnswer> {
  const result = await t.graphql<{ claimOrders: ClaimAnswer }>(CLAIM, { orderIds }, storeTokenFor(customerId));
  if (!result.data) throw new Error(`claimOrders failed: ${JSON.stringify(result.errors)}`);
  return result.data.claimOrders;
}

function claimIds(answer: ClaimAnswer): string[] {
  if (!("claims" in answer)) throw new Error(`not a success: ${JSON.stringify(answer)}`);
  return answer.claims.map((c) => c.id);
}

/**
 * Makes the first write of the row `condition` picks (on `NEW`) fail as a deadlock's victim does
 * (SQLSTATE 40P01), then runs `during`; resolves with how many times that row's write was tried
 * (a sequence is not rolled back with the failed attempt, so it counts them all).
 */
async function withDeadlockOnce(
  table: string,
  event: "INSERT" | "UPDATE",
  condition: string,
  during: () => Promise<void>,
) {
  await admin.query(`
    CREATE SEQUENCE "deadlock_once";
    CREATE FUNCTION "deadlock_once"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${condition} AND nextval('deadlock_once') = 1 THEN
        RAISE EXCEPTION 'deadlock detected (by a test)' USING ERRCODE = '40P01';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER "deadlock_once" BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION "deadlock_once"();`);
  try {
    await during();
    const { rows } = await admin.query(`SELECT last_value::int AS attempts FROM "deadlock_once"`);
    return rows[0].attempts as number;
  } finally {
    await admin.query(
      `DROP TRIGGER "deadlock_once" ON ${table}; DROP FUNCTION "deadlock_once"; DROP SEQUENCE "deadlock_once"`,
    );
  }
}

describe("claims sent at once", () => {
  it("answers each claimer with their own claims; those that come while writes are in flight are written together", async () => {
    // The first claimers' writes wait for their claimer's lock, held here: every batch the gateway
    // runs at once (BATCHES_IN_FLIGHT) is in flight, so the other requests arrive while they are.
    const claimerLock = (id: string) => `SELECT pg_advisory_lock(hashtext('order_claim:${id}'))`;
    const waitingWrites = async () =>
      (await admin.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0]
        .n as number;
    const held = claimers.slice(0, BATCHES_IN_FLIGHT);
    for (const id of held) await admin.query(claimerLock(id));
    const claimOwn = (id: string) => claim(id, [`order_${id}_0`, `order_${id}_1`]);
    const first: ReturnType<typeof claimOwn>[] = [];
    for (const [i, id] of held.entries()) {
      first.push(claimOwn(id));
      await eventually(async () => ((await waitingWrites()) === i + 1 ? true : undefined));
    }
    const others = claimers.slice(held.length).map(claimOwn);
    await sleep(1000); // the others are read and wait for a write slot (a few ms; ample under load)
    await admin.query(`SELECT pg_advisory_unlock_all()`);
    const answers = await Promise.all([...first, ...others]);
    answers.forEach((answer, i) => {
      expect(answer).toEqual({
        __typename: "ClaimOrdersSuccess",
        claims: [
          {
            id: expect.stringMatching(/^oclaim_/),
            status: "PENDING",
            // Masked: the claimer is not told the address.
            recipientEmail: "c***@example.com",
            orderCount: 2,
          },
        ],
      });
    });
    const rows = await t.prisma.orderClaim.findMany({
      select: { id: true, claimer_customer_id: true, recipient_email: true },
    });
    expect(rows).toHaveLength(CLAIMERS);
    for (const [i, answer] of answers.entries()) {
      const row = rows.find((r) => r.id === claimIds(answer)[0]);
      expect(row).toMatchObject({
        claimer_customer_id: claimers[i],
        recipient_email: `${claimers[i]}.guest@example.com`,
      });
    }
    // The held batches, then the others together.
    const { rows: transactions } = await admin.query(`SELECT count(DISTINCT "xid")::int AS n FROM "claim_written_by"`);
    expect(transactions[0].n).toBe(BATCHES_IN_FLIGHT + 1);
    // Every claim's email, each with its own token.
    const messages = await mail.waitFor(CLAIMERS);
    expect(new Set(messages.map((m) => m.token)).size).toBe(CLAIMERS);
    expect(messages.map((m) => m.to[0]).sort()).toEqual(claimers.map((id) => `${id}.guest@example.com`).sort());
  });

  it("leaves one claimer's later claim of the same order pending and supersedes the earlier, however they are batched", async () => {
    const [id] = claimers;
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all([0, 1, 2, 3].map(() => claim(id!, ["order_shared"])));
      const ids = answers.map((answer) => claimIds(answer)[0]!);
      const claims = await t.prisma.orderClaim.findMany({ where: { id: { in: ids } }, orderBy: { created_at: "asc" } });
      // The newest wins, whatever order the requests reached the writes in: one PENDING, the others superseded.
      expect(claims.map((c) => c.status)).toEqual(["SUPERSEDED", "SUPERSEDED", "SUPERSEDED", "PENDING"]);
    }
  });

  it("gives every claimer a live claim of an order they all claim at once (one claimer's never supersedes another's)", async () => {
    const answers = await Promise.all(claimers.map((id) => claim(id, ["order_shared"])));
    const pending = await t.prisma.orderClaim.findMany({ where: { status: "PENDING" }, select: { id: true } });
    expect(pending.map((c) => c.id).sort()).toEqual(answers.map((answer) => claimIds(answer)[0]).sort());
  });

  it("waits only for the claimer's own pending claims of an order: not for another claimer's, nor for ended ones", async () => {
    const [first, second] = claimers;
    const [ended] = claimIds(await claim(first!, ["order_shared"]));
    await admin.query(`UPDATE "ordergate"."order_claim" SET "status" = 'SUPERSEDED' WHERE "id" = $1`, [ended]);
    const [pending] = claimIds(await claim(first!, ["order_shared"]));
    const statusOf = async (id: string) => (await t.prisma.orderClaim.findUniqueOrThrow({ where: { id } })).status;
    /**
     * Runs `claimer`'s claim of the shared order while another transaction holds `locked` (as a
     * verification of them would); resolves with whether the claim was answered before the lock ended.
     */
    const claimWhileLocked = async (claimer: string, locked: string[]) => {
      const holder = new pg.Client({ connectionString: t.config.databaseUrl });
      await holder.connect();
      let answered = false;
      let claiming: Promise<ClaimAnswer> | undefined;
      try {
        await holder.query("BEGIN");
        await holder.query(`SELECT FROM "ordergate"."order_claim" WHERE "id" = ANY($1) FOR UPDATE`, [locked]);
        claiming = claim(claimer, ["order_shared"]);
        answered = await Promise.race([claiming.then(() => true), sleep(2_000).then(() => false)]);
      } finally {
        await holder.query("ROLLBACK");
        await holder.end();
        // Answered once the lock has gone, if not before: nothing of it reaches the next test.
        await expect(claiming).resolves.toMatchObject({ __typename: "ClaimOrdersSuccess" });
      }
      return answered;
    };
    // Another claimer's claims of the order, ended or pending, are neither waited for nor changed.
    expect(await claimWhileLocked(second!, [ended!, pending!])).toBe(true);
    expect([await statusOf(ended!), await statusOf(pending!)]).toEqual(["SUPERSEDED", "PENDING"]);
    // The claimer's own ended claim is not waited for either.
    expect(await claimWhileLocked(first!, [ended!])).toBe(true);
    expect(await statusOf(pending!)).toBe("SUPERSEDED");
    // Their own pending claim is: superseded once the other transaction lets it go.
    const [latest] = (
      await t.prisma.orderClaim.findMany({ where: { claimer_customer_id: first!, status: "PENDING" } })
    ).map((c) => c.id);
    expect(await claimWhileLocked(first!, [latest!])).toBe(false);
    expect(await statusOf(latest!)).toBe("SUPERSEDED");
  });

  it("answers only the request whose write failed with an error; the others in its batch are written", async () => {
    await admin.query(`
      CREATE FUNCTION "refuse_one_claim"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW."recipient_email" = 'cus_claimer_3.guest@example.com' THEN RAISE EXCEPTION 'refused by a test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER "refuse_one_claim" BEFORE INSERT ON "ordergate"."order_claim"
        FOR EACH ROW EXECUTE FUNCTION "refuse_one_claim"();`);
    try {
      const answers = await Promise.allSettled(claimers.map((id) => claim(id, [`order_${id}_0`])));
      const failed = answers.flatMap((answer, i) => (answer.status === "rejected" ? [claimers[i]] : []));
      expect(failed).toEqual(["cus_claimer_3"]);
      const written = await t.prisma.orderClaim.findMany({ select: { claimer_customer_id: true } });
      expect(written.map((c) => c.claimer_customer_id).sort()).toEqual(
        claimers.filter((id) => id !== "cus_claimer_3").sort(),
      );
      // Nothing half-written for the refused one: no links, no events that would mail a token.
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM "ordergate"."order_claim_order" WHERE "order_id" = 'order_cus_claimer_3_0'`,
      );
      expect(rows[0].n).toBe(0);
      await t.gateway.jobWorker!.flush();
      expect(mail.messages.map((m) => m.to[0])).not.toContain("cus_claimer_3.guest@example.com");
    } finally {
      await admin.query(
        `DROP TRIGGER "refuse_one_claim" ON "ordergate"."order_claim"; DROP FUNCTION "refuse_one_claim"`,
      );
    }
  });

  it("answers hostile and foreign requests in a batch on their own: a stranger, odd ids and another's orders fail no one else", async () => {
    const hostileIds = ["\ud800", "x".repeat(5000), '💥\'; DROP TABLE "order"; --', "order_%", "order_cus_claimer_1_0"];
    const [stranger, hostile, ...honest] = await Promise.all([
      t.graphql(CLAIM, { orderIds: ["order_cus_claimer_0_0"] }), // no sign-in
      claim("cus_claimer_0", hostileIds), // odd ids, and one of claimer 1's guest orders
      ...claimers.slice(1).map((id) => claim(id, [`order_${id}_0`])),
    ]);
    expect(stranger.errors?.[0]?.message ?? JSON.stringify(stranger.data)).toMatch(/sign in|signed in|authenticat/i);
    // Claimer 1's order is claimable by anyone who names it (design.md §3), so claimer 0 gets a claim of it; the
    // odd ids match nothing and no pattern.
    expect(hostile).toMatchObject({ __typename: "ClaimOrdersSuccess" });
    expect(claimIds(hostile)).toHaveLength(1);
    expect(honest.map((answer) => answer.__typename)).toEqual(claimers.slice(1).map(() => "ClaimOrdersSuccess"));
    const claims = await t.prisma.orderClaim.findMany({
      include: { orders: { select: { order_id: true } } },
      orderBy: { claimer_customer_id: "asc" },
    });
    expect(claims.map((c) => [c.claimer_customer_id, c.orders.map((o) => o.order_id), c.status])).toEqual([
      ["cus_claimer_0", ["order_cus_claimer_1_0"], "PENDING"],
      ...claimers.slice(1).map((id) => [id, [`order_${id}_0`], "PENDING"]),
    ]);
    expect(await t.prisma.order.count()).toBeGreaterThan(2 * CLAIMERS);
  });

  it("writes again, alone, a request of a batch that lost a deadlock", async () => {
    const attempts = await withDeadlockOnce(
      `"ordergate"."order_claim"`,
      "INSERT",
      `NEW."recipient_email" = 'cus_claimer_5.guest@example.com'`,
      async () => {
        const answers = await Promise.all(claimers.map((id) => claim(id, [`order_${id}_1`])));
        expect(answers.map((answer) => answer.__typename)).toEqual(claimers.map(() => "ClaimOrdersSuccess"));
        const written = await t.prisma.orderClaim.findMany({ select: { claimer_customer_id: true } });
        expect(written.map((c) => c.claimer_customer_id).sort()).toEqual([...claimers].sort());
      },
    );
    expect(attempts).toBe(2);
  });
});

describe("open_order_claims_batch", () => {
  const request = (claimerId: string, claimId: string, orderId: string) => ({
    claimer_id: claimerId,
    now: new Date().toISOString(),
    order_ids: [orderId],
    superseded_event: { topic: "order-claim.updated", payload: {} },
    claims: [
      {
        id: claimId,
        recipient_email: "shared@example.com",
        token_hash: claimId.padEnd(64, "0").slice(0, 64),
        expires_at: new Date(Date.now() + 60_000).toISOString(),
        orders: [{ id: orderId, email: "shared@example.com" }],
      },
    ],
    events: [],
  });

  it("runs a batch's requests in order: a claimer's later request supersedes the earlier one of the same batch", async () => {
    const { rows } = await admin.query(
      `SELECT "request", "superseded_claim_ids", "failure" FROM "ordergate"."open_order_claims_batch"($1::jsonb)`,
      [
        JSON.stringify([
          request("cus_claimer_0", "oclaim_first", "order_shared"),
          request("cus_claimer_1", "oclaim_other", "order_shared"),
          request("cus_claimer_0", "oclaim_second", "order_shared"),
        ]),
      ],
    );
    expect(rows).toEqual([
      { request: 0, superseded_claim_ids: [], failure: null },
      { request: 1, superseded_claim_ids: [], failure: null },
      { request: 2, superseded_claim_ids: ["oclaim_first"], failure: null },
    ]);
    const claims = await t.prisma.orderClaim.findMany({ orderBy: { id: "asc" }, select: { id: true, status: true } });
    expect(claims).toEqual([
      { id: "oclaim_first", status: "SUPERSEDED" },
      { id: "oclaim_other", status: "PENDING" },
      { id: "oclaim_second", status: "PENDING" },
    ]);
  });

  it("undoes only a failed request's writes and names its failure", async () => {
    const { rows } = await admin.query(
      `SELECT "request", "superseded_claim_ids", "failure" FROM "ordergate"."open_order_claims_batch"($1::jsonb)`,
      [
        JSON.stringify([
          request("cus_claimer_0", "oclaim_ok", "order_shared"),
          request("cus_claimer_1", "oclaim_bad", "order_that_does_not_exist"),
          request("cus_claimer_2", "oclaim_ok_too", "order_shared"),
        ]),
      ],
    );
    expect(rows.map((row) => row.failure === null)).toEqual([true, false, true]);
    expect(rows[1].failure).toMatch(/^23503 /); // a foreign key violation: the order is not there
    const claims = await t.prisma.orderClaim.findMany({ orderBy: { id: "asc" }, select: { id: true } });
    expect(claims.map((c) => c.id)).toEqual(["oclaim_ok", "oclaim_ok_too"]);
  });
});

describe("confirmations sent at once", () => {
  const CONFIRM = "/store/orders/customer/confirm";

  /** Each claimer claims their first order; resolves with each one's token, in claimer order. */
  async function tokensOfClaims(): Promise<string[]> {
    await Promise.all(claimers.map((id) => claim(id, [`order_${id}_0`])));
    const messages = await mail.waitFor(CLAIMERS);
    return claimers.map((id) => messages.find((m) => m.to[0] === `${id}.guest@example.com`)!.token!);
  }

  beforeEach(async () => {
    await seedScenario(t.prisma, scenario); // hands confirmed orders back to their guests
    await admin.query(`
      CREATE TABLE IF NOT EXISTS "order_moved_by" ("order_id" varchar, "xid" xid8 NOT NULL);
      DELETE FROM "order_moved_by";
      CREATE OR REPLACE FUNCTION "record_order_transaction"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "order_moved_by" VALUES (NEW."id", pg_current_xact_id());
        RETURN NEW;
      END $$;
      CREATE OR REPLACE TRIGGER "record_order_transaction" AFTER UPDATE OF "customer_id" ON "public"."order"
        FOR EACH ROW EXECUTE FUNCTION "record_order_transaction"();`);
  });

  it("moves each token's orders to its own claimer, in fewer transactions than requests", async () => {
    const tokens = await tokensOfClaims();
    const answers = await Promise.all(tokens.map((token) => t.request("POST", CONFIRM, { body: { token } })));
    expect(answers.map((a) => a.status)).toEqual(tokens.map(() => 200));
    const orders = await t.prisma.order.findMany({
      where: { id: { in: claimers.map((id) => `order_${id}_0`) } },
      select: { id: true, customer_id: true },
    });
    expect(Object.fromEntries(orders.map((o) => [o.id, o.customer_id]))).toEqual(
      Object.fromEntries(claimers.map((id) => [`order_${id}_0`, id])),
    );
    // The second orders stay with their guests.
    const untouched = await t.prisma.order.count({
      where: { id: { in: claimers.map((id) => `order_${id}_1`) }, customer_id: { endsWith: "_guest" } },
    });
    expect(untouched).toBe(CLAIMERS);
    const { rows } = await admin.query(`SELECT count(DISTINCT "xid")::int AS n FROM "order_moved_by"`);
    expect(rows[0].n).toBeLessThan(CLAIMERS);
  });

  it("verifies a token sent many times at once once, whatever batches the copies share", async () => {
    const [token] = await tokensOfClaims();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => t.request("POST", CONFIRM, { body: { token } })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status !== 200).map((a) => a.json.message)).toEqual(
      Array.from({ length: 11 }, () => expect.stringMatching(/already been used/)),
    );
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "order_moved_by"`);
    expect(rows[0].n).toBe(1);
  });

  it("verifies again, alone, a token whose verification lost a deadlock in its batch", async () => {
    const tokens = await tokensOfClaims();
    const attempts = await withDeadlockOnce(
      `"public"."order"`,
      "UPDATE",
      `NEW."id" = 'order_cus_claimer_2_0'`,
      async () => {
        const answers = await Promise.all(tokens.map((token) => t.request("POST", CONFIRM, { body: { token } })));
        expect(answers.map((a) => a.status)).toEqual(tokens.map(() => 200));
        const moved = await t.prisma.order.count({
          where: { id: "order_cus_claimer_2_0", customer_id: "cus_claimer_2" },
        });
        expect(moved).toBe(1);
      },
    );
    expect(attempts).toBe(2);
  });
});
