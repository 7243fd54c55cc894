import http from "node:http";
import https from "node:https";
import { StoreUnavailableError } from "../domain/errors";
import type { Logger } from "../lib/logger";
import { storeRejection } from "./medusa-errors";

/** A query string's values: arrays become Medusa's `name[]=a&name[]=b`. */
export type StoreQuery = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface StoreRequest {
  method: "GET" | "POST" | "DELETE";
  /** Medusa's route, e.g. `/store/carts/:id/line-items`: its name in metrics and logs. */
  route: string;
  /** The route's parameters (`id` for `:id`), each an id the caller checked; encoded here. */
  params?: Record<string, string>;
  query?: StoreQuery;
  body?: unknown;
  /** The signed-in customer Medusa is to see (as a short store JWT), if any. */
  customerId?: string;
  /** When the call must have ended (ms since the epoch): the request's MEDUSA_TIMEOUT, not one per call. */
  deadline: number;
}

export interface StoreClientOptions {
  /** MEDUSA_URL, without a trailing slash. */
  baseUrl: string;
  /** MEDUSA_TIMEOUT, in milliseconds, for the messages. */
  timeoutMs: number;
  /** A short store JWT for a customer, so that Medusa sees whom ordergate sees (its carts, prices). */
  issueStoreToken(customerId: string): string;
  /** Each call to Medusa once it ends: its route (for metrics) and its outcome. */
  onCall?(call: { route: string; outcome: "ok" | "rejected" | "unavailable" }): void;
  logger: Logger;
}

/** The most of an answer read from Medusa: a larger one is the store failing, not a catalog page. */
const MAX_ANSWER_BYTES = 10 * 1024 * 1024;
/** The most connections open to Medusa at once; more calls wait for one. */
const MAX_CONNECTIONS = 64;

/** A query string in the form Medusa's `qs` parser reads, keys sorted so equal queries give equal URLs. */
export function queryString(query: StoreQuery = {}): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(`${key}[]`, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Medusa's Store API, server to server: JSON in and out, MEDUSA_TIMEOUT for the whole call, the
 * customer's identity as a short store JWT (the forwarding's way). Medusa's 4xx answers become the
 * typed domain errors of `storeRejection` (with Medusa's message); Medusa unreachable, too slow or
 * failing (5xx, a body that is not JSON) is StoreUnavailableError. Nothing else is sent: no
 * client headers, cookies or addresses travel on these calls.
 */
export class MedusaStoreClient {
  /** Kept-alive connections to Medusa: node:http costs a third of fetch's CPU per call (measured). */
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly options: StoreClientOptions) {
    const secure = new URL(options.baseUrl).protocol === "https:";
    this.transport = secure ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: MAX_CONNECTIONS };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * The JSON text of an answer (for the catalog cache, which keeps text), checked to be JSON, so
   * that nothing else is ever cached; throws as `call` does.
   */
  async text(request: StoreRequest): Promise<string> {
    const text = await this.send(request);
    try {
      JSON.parse(text);
    } catch {
      throw this.unavailable(request, "its answer was not JSON");
    }
    return text;
  }

  async call<T>(request: StoreRequest): Promise<T> {
    const text = await this.send(request);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.unavailable(request, "its answer was not JSON");
    }
  }

  private routeOf(request: StoreRequest): string {
    return `${request.method} ${request.route}`;
  }

  /** The store failing, logged and counted. */
  private unavailable(request: StoreRequest, reason: string, timeoutMs?: number): StoreUnavailableError {
    this.options.logger.warn("Medusa failed a storefront call", { route: this.routeOf(request), reason });
    this.options.onCall?.({ route: this.routeOf(request), outcome: "unavailable" });
    return new StoreUnavailableError(timeoutMs);
  }

  private async send(request: StoreRequest): Promise<string> {
    const route = this.routeOf(request);
    const path = request.route.replace(/:(\w+)/g, (_match, name: string) => encodeURIComponent(request.params![name]!));
    const headers: Record<string, string> = { accept: "application/json" };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    if (request.customerId) headers.authorization = `Bearer ${this.options.issueStoreToken(request.customerId)}`;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.exchange(`${this.options.baseUrl}${path}${queryString(request.query)}`, {
        method: request.method,
        headers,
        body,
        timeoutMs: request.deadline - Date.now(),
      }));
    } catch (error) {
      if (error instanceof CallTimedOut) throw this.unavailable(request, "no answer in time", this.options.timeoutMs);
      throw this.unavailable(request, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
    }
    if (status >= 200 && status < 300) {
      this.options.onCall?.({ route, outcome: "ok" });
      return text;
    }
    if (status >= 400 && status < 500) {
      const rejection = storeRejection(status, parseBody(text));
      if (rejection) {
        this.options.onCall?.({ route, outcome: "rejected" });
        throw rejection;
      }
    }
    throw this.unavailable(request, `status ${status}`);
  }

  /** One request and its whole answer (connecting, sending and reading) within `timeoutMs`. */
  private exchange(
    url: string,
    request: { method: string; headers: Record<string, string>; body: string | undefined; timeoutMs: number },
  ): Promise<{ status: number; text: string }> {
    if (request.timeoutMs <= 0) return Promise.reject(new CallTimedOut());
    return new Promise((resolve, reject) => {
      const outgoing = this.transport.request(
        url,
        { method: request.method, headers: request.headers, agent: this.agent },
        (answer) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          answer.on("data", (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > MAX_ANSWER_BYTES)
              return void outgoing.destroy(new Error(`an answer over ${MAX_ANSWER_BYTES} bytes`));
            chunks.push(chunk);
          });
          answer.on("end", () => {
            clearTimeout(timer);
            resolve({ status: answer.statusCode!, text: Buffer.concat(chunks).toString("utf8") });
          });
          answer.on("error", fail);
        },
      );
      const timer = setTimeout(() => outgoing.destroy(new CallTimedOut()), request.timeoutMs);
      function fail(error: Error) {
        clearTimeout(timer);
        reject(error);
      }
      outgoing.on("error", fail);
      outgoing.end(request.body);
    });
  }
}

/** A call to Medusa not done by its deadline. */
class CallTimedOut extends Error {}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
