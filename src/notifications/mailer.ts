import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { domainToASCII } from "node:url";
import nodemailer, { type SendMailOptions } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import type { Config } from "../config";
import { rawMessageWriter } from "./raw-message";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * The message's identity (letters, digits, `_`, `-`, dot-separated): sent again with the same
   * key, it carries the same Message-ID (see messageIdFor), so a resend is recognisably the same
   * message. Without one, every send gets a new random Message-ID.
   */
  key?: string;
}

export interface Mailer {
  /** Resolves once the message is accepted (SMTP) or written (`.eml`); rejects otherwise. */
  send(message: MailMessage): Promise<void>;
  /** Human-readable destination, for the start-up banner. */
  describe(): string;
  close(): void;
}

/** SMTP connections kept open at most: the emails the outbox sends at once. */
export const SMTP_CONNECTIONS = 10;

/** SMTP when `SMTP_URL` is set; otherwise one `.eml` file per message under `DATA_DIR/mail`. */
export function createMailer(config: Pick<Config, "smtpUrl" | "mailFrom" | "dataDir">): Mailer {
  return config.smtpUrl
    ? smtpMailer(config.smtpUrl, config.mailFrom)
    : emlMailer(path.join(config.dataDir, "mail"), config.mailFrom);
}

const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

/**
 * The Message-ID of the message with this key: `<key@domain>`, the domain of the sender's address
 * (ASCII, lower case) or `localhost` when it has none usable. Both sides are dot-atom-text, so it
 * is a valid RFC 5322 msg-id whatever MAIL_FROM holds.
 */
export function messageIdFor(key: string, mailFrom: string): string {
  return messageIdIn(senderDomain(mailFrom))(key);
}

function messageIdIn(domain: string): (key: string) => string {
  return (key) => {
    if (!KEY.test(key)) throw new Error(`not a usable message key: ${JSON.stringify(key)}`);
    return `<${key}@${domain}>`;
  };
}

function senderDomain(mailFrom: string): string {
  const [sender] = addressparser(mailFrom, { flatten: true });
  const domain = domainToASCII(sender?.address.split("@").slice(1).pop() ?? "").toLowerCase();
  return DOMAIN.test(domain) ? domain : "localhost";
}

/** What nodemailer is given for a message from `from`, Message-ID included when it has a key. */
function mailOptionsFrom(from: string): (message: MailMessage) => SendMailOptions {
  const messageId = messageIdIn(senderDomain(from)); // the sender is parsed once, not per email
  return ({ key, ...content }) => ({ from, ...content, ...(key === undefined ? {} : { messageId: messageId(key) }) });
}

function smtpMailer(smtpUrl: string, from: string): Mailer {
  // Pooled: connections are kept and reused, so a message does not wait for a new connection, its
  // TLS handshake and the SMTP greeting.
  // Bounded timeouts: an unreachable server fails the attempt and the outbox retries it later.
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: SMTP_CONNECTIONS,
    maxMessages: 1000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  const target = new URL(smtpUrl);
  const messageId = messageIdIn(senderDomain(from));
  const writeRaw = rawMessageWriter(from);
  return {
    async send({ key, ...content }) {
      // Composed whole first: streamed, a message would reach the socket in dozens of small writes.
      const raw = await writeRaw({ ...content, messageId: messageId(key ?? crypto.randomUUID()) });
      await transport.sendMail({ envelope: { from, to: content.to }, raw });
    },
    describe: () => `SMTP ${target.hostname}:${target.port || "25"}`,
    close: () => transport.close(),
  };
}

function emlMailer(folder: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  const mailOptions = mailOptionsFrom(from);
  return {
    async send(message) {
      const info = await transport.sendMail(mailOptions(message));
      await fs.mkdir(folder, { recursive: true });
      const sentAt = new Date().toISOString().replace(/[:.]/g, "-");
      const name = `${sentAt}-${info.messageId.replace(/[^A-Za-z0-9@.-]/g, "")}.eml`;
      // Written beside, then renamed: a reader never sees half a message.
      const file = path.join(folder, name);
      await fs.writeFile(`${file}.tmp`, info.message as Buffer, { mode: 0o600 });
      await fs.rename(`${file}.tmp`, file);
    },
    describe: () => `.eml files in ${folder}`,
    close: () => transport.close(),
  };
}
