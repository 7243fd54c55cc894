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
  constructor(private readonly options: StoreClientOptions) {}

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
    let status: number;
    let text: string;
    try {
      const response = await fetch(`${baseUrl}${request.path}${queryString(request.query)}`, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "manual",
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const timedOut = (error as Error).name === "TimeoutError";
      logger.warn(timedOut ? "Medusa did not answer in time" : "Medusa could not be reached", {
        route,
        reason: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message,
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
}

const looksLikeJson = (text: string) => text.startsWith("{") || text.startsWith("[");

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
