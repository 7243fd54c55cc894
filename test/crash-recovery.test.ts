import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPrismaClient, type Db } from "../src/db/database";
import { ORDER_UPDATE_TOKEN_CREATED, type OutboxMessages } from "../src/events/topics";
import { claimEmailKey } from "../src/notifications/claim-notifier";
import { messageIdFor, SMTP_CONNECTIONS } from "../src/notifications/mailer";
import { createTestDatabase } from "./support/database";
import { TEST_JWT_SECRET } from "./support/gateway";
import { defineScenario, seedScenario, storeTokenFor } from "./support/scenarios";
import { TestMailServer } from "./support/smtp";
import { eventually } from "./support/wait";

/**
 * The gateway's processes (primary, web worker, job worker) killed together with SIGKILL, as a
 * machine or container dies, while claims are coming in and emails are going out:
 * after a restart on the same database, every claim that was committed (every one that was
 * answered 200, and any that committed without an answer) gets its email, at least once: rows the
 * killed process had leased go out once their lease runs out. What was sent but not yet marked
 * delivered goes out again, under the same Message-ID, and that is at most one email per SMTP
 * connection: the ones in flight. The compiled gateway (dist/, built by `npm test`).
 */
const ROOT = path.resolve(__dirname, "..");
/** Enough that claims are still coming in when the gateway is killed. */
const GUESTS = 1000;
const CONCURRENCY = 8;
const MAIL_FROM = "Shop <orders@shop.example>";
/**
 * A slow mail server (a real relay takes this long and more), so that emails queue up behind the
 * claims and fill whole batches of the outbox.
 */
const ACCEPT_DELAY_MS = 250;
/**
 * Killed once this many emails were accepted: past the first full round of the SMTP connections
 * in a full batch, with the next round in flight, so that emails sent earlier in the batch would
 * be sent again if a batch were marked delivered only at its end.
 */
const KILL_AFTER_MAILS = 2 * SMTP_CONNECTIONS;

const scenario = defineScenario({
  customers: {
    claimer: { id: "cus_claimer", email: "claimer@example.com", password: "claimer password", has_account: true },
  },
  orders: Object.fromEntries(
    Array.from({ length: GUESTS }, (_, i) => [
      `o${i}`,
      {
        id: `order_crash_${i}`,
        display_id: 5000 + i,
        email: `guest${i}@example.com`,
        items: [{ title: "Mug", unit_price: 900, quantity: 1 }],
      },
    ]),
  ),
});

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: Db;
let mail: TestMailServer;
let dataDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = createPrismaClient(database.url);
  await seedScenario(prisma, scenario);
  mail = await new TestMailServer().start();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-crash-"));
});
afterAll(async () => {
  for (const child of children) killGroup(child);
  await prisma?.$disconnect();
  await mail?.stop();
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** SIGKILL to the gateway's process group: its primary and every worker at once. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // ESRCH: nothing left in the group
  }
}

/** The compiled gateway on the test database, in a process group of its own; resolves with its URL once it listens. */
async function startGateway(): Promise<{ child: ChildProcess; url: string }> {
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: database.url,
    SMTP_URL: mail.url,
    DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    JWT_SECRET: TEST_JWT_SECRET,
    SEED_DEMO: "false",
    RATE_LIMITS: "off",
    LOG_LEVEL: "info",
    MAIL_FROM,
  };
  const child = spawn(process.execPath, [path.join(ROOT, "dist/main.js")], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(child);
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s:\n${log}`)), 30_000);
    // The log is on stdout; a failure to start is told on stderr.
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const match = /ordergate listening on (http:\/\/[^\s"]+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code} before it listened:\n${log}`)));
  });
  return { child, url };
}

it("mails every committed claim after a SIGKILL under load and a restart, sending again at most the emails in flight, under the same Message-ID", async () => {
  const first = await startGateway();
  const bearer = storeTokenFor(scenario.customers.claimer.id);
  const answered: string[] = [];
  let next = 0;
  let killed = false;
  mail.acceptDelayMs = ACCEPT_DELAY_MS;
  const kill = mail.waitFor(KILL_AFTER_MAILS, 60_000).then(() => {
    killed = true;
    killGroup(first.child);
  });
  const worker = async () => {
    while (next < GUESTS && !killed) {
      const order = scenario.orders[`o${next++}`]!;
      try {
        const response = await fetch(`${first.url}/store/orders/batch/customer/token`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
          body: JSON.stringify({ order_ids: [order.id] }),
        });
        if (response.status === 200) answered.push(order.email);
        else throw new Error(`claim answered ${response.status}`);
      } catch (error) {
        if (!killed) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await kill;
  await new Promise((resolve) =>
    first.child.exitCode !== null || first.child.signalCode !== null
      ? resolve(undefined)
      : first.child.once("exit", resolve),
  );
  expect(first.child.signalCode).toBe("SIGKILL");
  mail.acceptDelayMs = 0;

  const committed = (await prisma.orderClaim.findMany({ select: { recipient_email: true } })).map(
    (claim) => claim.recipient_email,
  );
  expect(committed.length).toBeGreaterThanOrEqual(answered.length);
  expect(committed.length).toBeLessThan(GUESTS); // killed under claim load
  for (const email of answered) expect(committed).toContain(email);

  const second = await startGateway();
  await eventually(() => {
    const mailed = new Set(mail.messages.map((message) => message.to[0]));
    return committed.every((email) => mailed.has(email)) ? true : undefined;
    // Rows the killed process had leased wait for their lease (60 s) to run out.
  }, 90_000);
  await eventually(
    async () => ((await prisma.outboxEvent.count({ where: { delivered_at: null } })) === 0 ? true : undefined),
    90_000,
  );

  // Every mail is for a committed claim, carries a token and its outbox event's Message-ID (one
  // claim per recipient here), however many times it was sent.
  const events = await prisma.outboxEvent.findMany({ where: { topic: ORDER_UPDATE_TOKEN_CREATED } });
  const messageIdOf = new Map(
    events.map((event) => {
      const payload = event.payload as OutboxMessages[typeof ORDER_UPDATE_TOKEN_CREATED]["payload"];
      return [payload.old_email, messageIdFor(claimEmailKey(event.id, payload.claim_id), MAIL_FROM)];
    }),
  );
  expect(messageIdOf.size).toBe(committed.length);
  for (const message of mail.messages) {
    expect(committed).toContain(message.to[0]);
    expect(message.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(message.messageId).toBe(messageIdOf.get(message.to[0]!));
  }
  // Sent twice: those the killed process had sent (or was sending) but not marked delivered.
  const duplicates = mail.messages.length - new Set(mail.messages.map((message) => message.to[0])).size;
  expect(duplicates).toBeLessThanOrEqual(SMTP_CONNECTIONS);

  second.child.kill("SIGTERM");
  const code = await new Promise((resolve) => second.child.once("exit", (exitCode) => resolve(exitCode)));
  expect(code).toBe(0);
}, 240_000);
