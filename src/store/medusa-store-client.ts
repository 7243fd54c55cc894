import http from "node:http";
import https from "node:https";
import { StoreUnavailableError } from "../domain/errors";
import type { Logger } from "../lib/logger";
import { storeRejection } from "./medusa-errors";

/** A query string's values: arrays become Medusa's `name[]=a&name[]=b`. */
export type StoreQuery = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface StoreRequest {
  method: "GET" | "POST" | "DELETE";
  /** Below the store API, e.g. `/store/carts/cart_1/line-items`; ids in it are encoded by the caller. */
  path: string;
  query?: StoreQuery;
  body?: unknown;
  /** The signed-in customer Medusa is to see (as a short store JWT), if any. */
  customerId?: string;
}

export interface StoreClientOptions {
  /** MEDUSA_URL, without a trailing slash. */
  baseUrl: string;
  /** MEDUSA_TIMEOUT, in milliseconds: the whole call, answer included. */
  timeoutMs: number;
  /** A short store JWT for a customer, so that Medusa sees whom ordergate sees (its carts, prices). */
  issueStoreToken(customerId: string): string;
  /** Each call to Medusa once it ends: its route template (for metrics) and its outcome. */
  onCall?(call: { route: string; outcome: "ok" | "rejected" | "unavailable" }): void;
  logger: Logger;
}

/** Medusa's path with ids replaced, for metrics and logs (`/store/carts/:id/line-items`). */
export function routeTemplate(path: string): string {
  return path
    .split("/")
    .map((segment) => (/^[a-z]+_[0-9A-Za-z]+$/.test(segment) || segment.includes("%") ? ":id" : segment))
    .join("/");
}

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
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** The JSON text of a GET (for the catalog cache, which keeps text); throws as `call` does. */
  async getText(path: string, query?: StoreQuery): Promise<string> {
    return this.send({ method: "GET", path, query });
  }

  async call<T>(request: StoreRequest): Promise<T> {
    return JSON.parse(await this.send(request)) as T;
  }

  private async send(request: StoreRequest): Promise<string> {
    const { baseUrl, timeoutMs, logger } = this.options;
    const route = `${request.method} ${routeTemplate(request.path)}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    if (request.customerId) headers.authorization = `Bearer ${this.options.issueStoreToken(request.customerId)}`;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.exchange(`${baseUrl}${request.path}${queryString(request.query)}`, {
        method: request.method,
        headers,
        body,
      }));
    } catch (error) {
      const timedOut = error instanceof CallTimedOut;
      logger.warn(timedOut ? "Medusa did not answer in time" : "Medusa could not be reached", {
        route,
        reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
      });
      this.options.onCall?.({ route, outcome: "unavailable" });
      throw new StoreUnavailableError(timedOut ? timeoutMs : undefined);
    }
    if (status >= 200 && status < 300 && looksLikeJson(text)) {
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
    logger.warn("Medusa answered with an error", { route, status });
    this.options.onCall?.({ route, outcome: "unavailable" });
    throw new StoreUnavailableError();
  }

  /** One request and its whole answer, within MEDUSA_TIMEOUT (connecting, sending and reading). */
  private exchange(
    url: string,
    request: { method: string; headers: Record<string, string>; body: string | undefined },
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const outgoing = this.transport.request(
        url,
        { method: request.method, headers: request.headers, agent: this.agent },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => chunks.push(chunk));
          answer.on("end", () => {
            clearTimeout(timer);
            resolve({ status: answer.statusCode!, text: Buffer.concat(chunks).toString("utf8") });
          });
          answer.on("error", fail);
        },
      );
      const timer = setTimeout(() => outgoing.destroy(new CallTimedOut()), this.options.timeoutMs);
      function fail(error: Error) {
        clearTimeout(timer);
        reject(error);
      }
      outgoing.on("error", fail);
      outgoing.end(request.body);
    });
  }
}

/** A call to Medusa that took longer than MEDUSA_TIMEOUT. */
class CallTimedOut extends Error {}

const looksLikeJson = (text: string) => text.startsWith("{") || text.startsWith("[");

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
