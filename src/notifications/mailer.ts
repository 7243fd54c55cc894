import fs from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer";
import type { Config } from "../config";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
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
  return config.smtpUrl ? smtpMailer(config.smtpUrl, config.mailFrom) : emlMailer(path.join(config.dataDir, "mail"), config.mailFrom);
}

function smtpMailer(smtpUrl: string, from: string): Mailer {
  // Pooled: connections are kept and reused (a new one per message capped mail at ~9 a second).
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
  return {
    async send(message) {
      // Composed whole first: streamed, a message reached the socket in dozens of small writes.
      const raw = await new MailComposer({ from, ...message }).compile().build();
      await transport.sendMail({ envelope: { from, to: message.to }, raw });
    },
    describe: () => `SMTP ${target.hostname}:${target.port || "25"}`,
    close: () => transport.close(),
  };
}

function emlMailer(folder: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    async send(message) {
      const info = await transport.sendMail({ from, ...message });
      await fs.mkdir(folder, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${info.messageId.replace(/[^A-Za-z0-9@.-]/g, "")}.eml`;
      // Written beside, then renamed: a reader never sees half a message.
      const file = path.join(folder, name);
      await fs.writeFile(`${file}.tmp`, info.message as Buffer, { mode: 0o600 });
      await fs.rename(`${file}.tmp`, file);
    },
    describe: () => `.eml files in ${folder}`,
    close: () => transport.close(),
  };
}
