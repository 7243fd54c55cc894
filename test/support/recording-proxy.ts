import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP proxy in front of a real server that records each request's method and target
 * (`GET /store/products?expand=...`): what ordergate asked Medusa for, and how often.
 */
export class RecordingProxy {
  readonly requests: string[] = [];
  /** Each request's headers, in the order of `requests`. */
  readonly headers: IncomingHttpHeaders[] = [];
  private server: http.Server | undefined;
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      this.headers.push(req.headers);
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
          agent: this.agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  /** The requests recorded while `action` ran. */
  async during(action: () => Promise<unknown>): Promise<string[]> {
    const from = this.requests.length;
    await action();
    return this.requests.slice(from);
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
