import { simpleParser } from "mailparser";
import MailComposer from "nodemailer/lib/mail-composer";
import { rawMessageWriter } from "../src/notifications/raw-message";

const FROM = "Shop (orders) <no-reply@shop.example>";
const message = {
  to: "ann.work@example.com",
  subject: "Someone asked to add order #1001 to their account",
  messageId: "<ordergate.1.oclaim_1@shop.example>",
  text: `Line one\nA long line ${"x".repeat(300)}\nUnicode: Zoë ☕ 日本\n--_ordergate_ not a boundary\n`,
  html: `<!doctype html><p>Zoë ☕ <a href="https://shop.example/c?t=T&amp;x=1">link</a></p>${"<br>".repeat(100)}`,
};

/** What a mail client reads of a raw message. */
async function read(raw: Buffer) {
  const parsed = await simpleParser(raw);
  return {
    from: parsed.from?.text,
    to: (Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)?.text,
    subject: parsed.subject,
    messageId: parsed.messageId,
    text: parsed.text,
    html: parsed.html,
    date: parsed.date instanceof Date && !Number.isNaN(parsed.date.getTime()),
  };
}

const composed = (content: typeof message) =>
  new MailComposer({ from: FROM, ...content }).compile().build() as Promise<Buffer>;

describe("a claim email's raw message", () => {
  const write = rawMessageWriter(FROM);

  it("reads exactly as nodemailer's own composition of the same message", async () => {
    const raw = await write(message);
    expect(await read(raw)).toEqual(await read(await composed(message)));
    expect((await read(raw)).date).toBe(true);
    // Lines within SMTP's limit, CRLF only.
    const lines = raw.toString("latin1").split("\r\n");
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(998);
    expect(raw.toString("latin1").replaceAll("\r\n", "")).not.toMatch(/[\r\n]/);
  });

  it("leaves a subject or recipient outside plain ASCII to nodemailer's encoding", async () => {
    for (const odd of [
      { ...message, subject: "Zoë asked for order #7" },
      { ...message, to: "zoë@exämple.com" },
    ]) {
      const parsed = await read(await write(odd));
      expect(parsed).toEqual(await read(await composed(odd)));
      expect([parsed.subject, parsed.to]).toEqual([odd.subject, odd.to]);
    }
  });

  it("never lets a line break in a subject start a header of its own", async () => {
    const raw = await write({ ...message, subject: "Hi\r\nBcc: mallory@example.com" });
    const headers = raw.toString("latin1").split("\r\n\r\n")[0]!;
    expect(headers).not.toMatch(/^Bcc:/im);
  });
});
