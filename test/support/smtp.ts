import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string | undefined;
  /** The claim token as the text part presents it. */
  token: string | undefined;
}

const TOKEN_IN_TEXT = /enter this code:\s+([A-Za-z0-9_-]{43})/;

/** A real SMTP server on loopback that keeps what it receives. */
export class TestMailServer {
  readonly messages: ReceivedMail[] = [];
  private server: SMTPServer | undefined;
  private waiters: (() => void)[] = [];
  /** How long each message waits before it is kept and accepted: a slow mail server. */
  acceptDelayMs = 0;

  constructor(public port = 0) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      // Stopping drops the gateway's pooled connections at once, as a mail server going down does
      // (smtp-server waits 30 s for them by default, which made a test stopping it take as long).
      closeTimeout: 250,
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then(async (mail) => {
            if (this.acceptDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.acceptDelayMs));
            this.messages.push(toReceived(mail));
            for (const wake of this.waiters.splice(0)) wake();
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.port, "127.0.0.1", () => resolve());
    });
    // A client that dies mid-conversation (a gateway killed in a test) resets its connection: a mail
    // server carries on, and smtp-server reports it as an `error` event that must not end the test run.
    this.server.on("error", () => {});
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Resolves with the first `count` messages, or fails after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} email(s), received ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.slice(0, count);
  }
}

function toReceived(mail: ParsedMail): ReceivedMail {
  const addresses = [mail.to].flat().flatMap((to) => to?.value.map((a) => a.address ?? "") ?? []);
  const text = mail.text ?? "";
  return {
    to: addresses,
    subject: mail.subject ?? "",
    text,
    html: typeof mail.html === "string" ? mail.html : "",
    messageId: mail.messageId,
    token: TOKEN_IN_TEXT.exec(text)?.[1],
  };
}
