import fs from "node:fs";
import { simpleParser } from "mailparser";
import path from "node:path";
import type { ClaimFeedMessage } from "../src/events/event-bus";
import { ORDER_UPDATE_TOKEN_CREATED, type OutboxMessages } from "../src/events/topics";
import { createLogger } from "../src/lib/logger";
import { messageIdFor } from "../src/notifications/mailer";
import { createGateway } from "../src/app/gateway";
import { logEntries, startTestGateway, type TestGateway } from "./support/gateway";
import { claimScenario, loginToken, seedScenario } from "./support/scenarios";
import { enqueueOutboxJobLockedByDeadWorker, outboxEvent, outboxEvents } from "./support/outbox";
import { TestMailServer } from "./support/smtp";
import { eventually, freePort, sleep } from "./support/wait";

const { customers, orders } = claimScenario;
const CLAIM = "/store/orders/batch/customer/token";
const CONFIRM = "/store/orders/customer/confirm";
/** RFC 5322's msg-id: `<` dot-atom-text `@` dot-atom-text `>` (no-fold-literal unused here). */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const MSG_ID = new RegExp(`^<${ATEXT}(\\.${ATEXT})*@${ATEXT}(\\.${ATEXT})*>$`);

/** The claim email's outbox row (one claim per test here), with its claim's id. */
async function claimEmailRow(t: TestGateway) {
  const row = (await outboxEvent(t.prisma, { topic: ORDER_UPDATE_TOKEN_CREATED }))!;
  return { ...row, claimId: (row.payload as OutboxMessages[typeof ORDER_UPDATE_TOKEN_CREATED]["payload"]).claim_id };
}

/** That row once it is marked delivered. */
const deliveredClaimEmailRow = (t: TestGateway) =>
  eventually(async () => {
    const row = await claimEmailRow(t);
    return row.delivered_at ? row : undefined;
  });

async function startWithScenario(env: Record<string, string>): Promise<{ t: TestGateway; bearer: string }> {
  const t = await startTestGateway(env);
  await seedScenario(t.prisma, claimScenario);
  return { t, bearer: await loginToken(t, customers.ann.email, customers.ann.password!) };
}

let t: TestGateway | undefined;
let mail: TestMailServer | undefined;
afterEach(async () => {
  await t?.close();
  await mail?.stop();
  t = mail = undefined;
});

describe("outbox delivery", () => {
  it("delivers the email once the SMTP server is back, and the token still works", async () => {
    const port = await freePort();
    const started = await startWithScenario({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    t = started.t;
    const response = await t.request("POST", CLAIM, { bearer: started.bearer, body: { order_ids: [orders.work1.id] } });
    expect(response.status).toBe(200);

    const failed = await eventually(async () => {
      const row = await outboxEvent(t!.prisma, { topic: "order-update-token.created" });
      return row && row.attempts >= 2 ? row : undefined;
    });
    expect(failed.delivered_at).toBeNull();
    expect(failed.last_error).toMatch(/ECONNREFUSED|connect/i);
    expect(failed.secret).not.toBeNull();

    mail = await new TestMailServer(port).start();
    const [message] = await mail.waitFor(1, 20_000);
    expect(message!.to).toEqual(["ann.work@example.com"]);
    const delivered = await deliveredClaimEmailRow(t);
    expect(delivered.secret).toBeNull();
    await sleep(300);
    expect(mail.messages).toHaveLength(1);

    expect((await t.request("POST", CONFIRM, { body: { token: message!.token } })).status).toBe(200);
    expect(logEntries(t).some((entry) => entry.msg === "outbox delivery failed, retrying" && entry.attempt === 1)).toBe(
      true,
    );
    expect(t.logs.join("\n")).not.toContain(message!.token);
  });

  it("survives a restart: a new gateway on the same database delivers what the first could not", async () => {
    const port = await freePort();
    const first = await startWithScenario({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    t = first.t;
    await t.request("POST", CLAIM, { bearer: first.bearer, body: { order_ids: [orders.home.id] } });
    await t.gateway.close(); // the process stops with the email undelivered; its database stays

    mail = await new TestMailServer(port).start();
    const second = await createGateway(t.config, createLogger("silent"));
    await second.listen();
    try {
      const [message] = await mail.waitFor(1);
      expect(message!.to).toEqual(["ann.home@example.net"]);
    } finally {
      await second.close();
    }
  });

  it("is shared by two instances on one database: each email goes out exactly once", async () => {
    const port = await freePort();
    const started = await startWithScenario({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    t = started.t;
    const other = await createGateway({ ...t.config, port: 0 }, createLogger("silent"));
    await other.listen();
    try {
      await t.request("POST", CLAIM, {
        bearer: started.bearer,
        body: { order_ids: [orders.work1.id, orders.home.id] },
      });
      await eventually(
        async () =>
          (await outboxEvents(t!.prisma, { topic: "order-update-token.created" })).filter((row) => row.attempts >= 2)
            .length === 2
            ? true
            : undefined,
        // graphile-worker's backoff: the second attempt comes e (2.7) seconds after the first.
        20_000,
      );
      // Both job workers now retry the same two rows against the same server.
      mail = await new TestMailServer(port).start();
      const messages = await mail.waitFor(2, 20_000);
      await sleep(1000);
      expect(mail.messages).toHaveLength(2);
      expect(messages.map((m) => m.to[0]).sort()).toEqual(["ann.home@example.net", "ann.work@example.com"]);
    } finally {
      await other.close();
    }
  });

  it("gives a claim email a Message-ID derived from its outbox event, the same when a crash makes it go out again", async () => {
    mail = await new TestMailServer().start();
    const started = await startWithScenario({ SMTP_URL: mail.url, MAIL_FROM: "Shop <Orders@Shop.Example>" });
    t = started.t;
    await t.request("POST", CLAIM, { bearer: started.bearer, body: { order_ids: [orders.home.id] } });
    const [first] = await mail.waitFor(1);
    const row = await deliveredClaimEmailRow(t);
    expect(first!.messageId).toBe(`<ordergate.${row.id}.${row.claimId}@shop.example>`);
    expect(first!.messageId).toMatch(MSG_ID);

    // As a SIGKILL right after the send leaves it: undelivered, token kept, its job locked by a dead
    // instance whose lease ran out.
    await t.prisma.outboxEvent.update({
      where: { id: row.id },
      data: { delivered_at: null, secret: { token: first!.token! } },
    });
    await enqueueOutboxJobLockedByDeadWorker(t.prisma, row.id, 1);
    const [, again] = await mail.waitFor(2);
    expect(again!.to).toEqual(first!.to);
    expect(again!.token).toBe(first!.token);
    expect(again!.messageId).toBe(first!.messageId);
    const redelivered = await deliveredClaimEmailRow(t);
    expect(redelivered).toMatchObject({ attempts: 2, secret: null });
  });

  it("writes .eml files under DATA_DIR/mail when SMTP_URL is unset", async () => {
    const started = await startWithScenario({});
    t = started.t;
    await t.request("POST", CLAIM, { bearer: started.bearer, body: { order_ids: [orders.home.id] } });
    const folder = path.join(t.config.dataDir, "mail");
    const file = await eventually(async () =>
      fs.existsSync(folder) ? fs.readdirSync(folder).find((f) => f.endsWith(".eml")) : undefined,
    );
    const eml = fs.readFileSync(path.join(folder, file), "utf8");
    expect(eml).toMatch(/^To: ann\.home@example\.net$/m);
    const parsed = await simpleParser(eml);
    const row = await claimEmailRow(t);
    expect(parsed.messageId).toBe(`<ordergate.${row.id}.${row.claimId}@localhost>`); // MAIL_FROM's default domain
    expect(parsed.html).toContain("Review and confirm");
    const token = /enter this code:\s+([A-Za-z0-9_-]{43})/.exec(parsed.text ?? "")?.[1];
    expect(token).toBeDefined();
    expect((await t.request("POST", CONFIRM, { body: { token } })).status).toBe(200);
  });
});

describe("messageIdFor", () => {
  it.each([
    ["Shop <Orders@Shop.Example>", "<k.1@shop.example>"],
    ["no-reply@bücher.example", "<k.1@xn--bcher-kva.example>"],
    ['"Shop, the" <a@mail.shop.example>', "<k.1@mail.shop.example>"],
    ["ordergate", "<k.1@localhost>"],
    ["ordergate <no-reply@[127.0.0.1]>", "<k.1@localhost>"],
    ["Shop <orders@example.com.>", "<k.1@localhost>"],
  ])("from %j: %s, a valid msg-id", (mailFrom, expected) => {
    const messageId = messageIdFor("k.1", mailFrom);
    expect(messageId).toBe(expected);
    expect(messageId).toMatch(MSG_ID);
  });

  it.each(["", "a..b", ".a", "a b", "a@b", "<a>"])("refuses the key %j, which would not make a valid msg-id", (key) => {
    expect(() => messageIdFor(key, "a@example.com")).toThrow("not a usable message key");
  });
});

describe("claim expiry", () => {
  it("marks a claim EXPIRED on its own soon after expiry and publishes it", async () => {
    mail = await new TestMailServer().start();
    const started = await startWithScenario({ SMTP_URL: mail.url, CLAIM_TOKEN_TTL: "1s" });
    t = started.t;
    const updates = t.gateway.services.events.claimUpdates(customers.ann.id);
    const first = updates.next(); // listens from here on
    await t.request("POST", CLAIM, { bearer: started.bearer, body: { order_ids: [orders.work1.id] } });
    const [message] = await mail.waitFor(1);

    const seen: ClaimFeedMessage[] = [(await first).value, (await updates.next()).value];
    await updates.return(undefined);
    expect(seen.map((message) => message.kind === "update" && message.update.status)).toEqual(["PENDING", "EXPIRED"]);
    expect((await t.prisma.orderClaim.findFirstOrThrow()).status).toBe("EXPIRED");
    const response = await t.request("POST", CONFIRM, { body: { token: message!.token } });
    expect(response.status).toBe(400);
    expect(response.json.message).toBe("The claim token has expired. Request a new one.");
  });

  it("drops the email of a claim that expired before it could be sent, and erases its token", async () => {
    const port = await freePort();
    const started = await startWithScenario({ SMTP_URL: `smtp://127.0.0.1:${port}`, CLAIM_TOKEN_TTL: "1s" });
    t = started.t;
    await t.request("POST", CLAIM, { bearer: started.bearer, body: { order_ids: [orders.work1.id] } });
    await eventually(async () =>
      (await t!.prisma.orderClaim.findFirst({ where: { status: "EXPIRED" } })) ? true : undefined,
    );

    mail = await new TestMailServer(port).start();
    const row = await deliveredClaimEmailRow(t);
    expect(row.secret).toBeNull();
    await sleep(300);
    expect(mail.messages).toHaveLength(0);
  });
});
