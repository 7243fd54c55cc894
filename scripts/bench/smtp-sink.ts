import { SMTPServer } from "smtp-server";

/** The claim token as the text part presents it (quoted-printable soft breaks removed first). */
const TOKEN_IN_TEXT = /enter this code:\s+([A-Za-z0-9_-]{43})/;
/** A base64 part's body: after its Content-Transfer-Encoding header and the rest of its headers. */
const BASE64_BODY = /Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/gi;

/** The claim token of a raw message, its text in quoted-printable (nodemailer's composer) or in base64 parts. */
function findToken(raw: string): string | undefined {
  const token = TOKEN_IN_TEXT.exec(raw.replace(/=\r?\n/g, ""))?.[1];
  if (token) return token;
  for (const [, body] of raw.matchAll(BASE64_BODY)) {
    const decoded = TOKEN_IN_TEXT.exec(Buffer.from(body!, "base64").toString("utf8"))?.[1];
    if (decoded) return decoded;
  }
  return undefined;
}

/**
 * A loopback SMTP server that counts messages and keeps each claim token with the time it
 * arrived. Regexes over the raw message, not a MIME parser: the sink shares its process (and CPU)
 * with the load generator.
 */
export class SmtpSink {
  received = 0;
  /** Messages in which no token was found: the email changed, or the regex is wrong. */
  withoutToken = 0;
  /** Connections that failed (a reset when a sender stopped). */
  connectionErrors = 0;
  /** Every token received, with its arrival time (`Date.now()`). */
  readonly arrivals = new Map<string, number>();
  /** Tokens not yet handed out (`takeToken`), oldest first. */
  private unused: string[] = [];
  private nextUnused = 0;
  private server: SMTPServer | undefined;
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Tokens received and not yet taken. */
  get available(): number {
    return this.unused.length - this.nextUnused;
  }

  /** The oldest token not yet taken: each token works once, so each is handed out once. */
  takeToken(): string | undefined {
    return this.nextUnused < this.unused.length ? this.unused[this.nextUnused++] : undefined;
  }

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          this.record(Buffer.concat(chunks).toString("latin1"));
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(0, "127.0.0.1", () => {
        this.server!.off("error", reject);
        resolve();
      });
    });
    // A client's connection failing (reset when the gateway is stopped or dies) is its business:
    // without a listener, the error event would end the bench, before its cleanup.
    this.server.on("error", () => this.connectionErrors++);
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  private record(raw: string): void {
    this.received++;
    const token = findToken(raw);
    if (!token) {
      this.withoutToken++;
      return;
    }
    // At least once: after a crash the same email may come twice; its token is used once.
    if (this.arrivals.has(token)) return;
    this.arrivals.set(token, Date.now());
    this.unused.push(token);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}
