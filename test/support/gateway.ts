import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Config, loadConfig } from "../../src/config";
import { createLogger, type Logger } from "../../src/lib/logger";
import { createGateway, type Gateway } from "../../src/app/gateway";
import { createTestDatabase } from "./database";

export const TEST_JWT_SECRET = "test-secret-for-ordergate-tests";

export interface TestGateway {
  gateway: Gateway;
  config: Config;
  url: string;
  prisma: Gateway["services"]["prisma"];
  /** Every response body this gateway sent through `request`, for secret-leak checks. */
  responses: string[];
  /** Everything the gateway logged, at debug level: JSON lines (see `logEntries`). */
  logs: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    bearer?: string,
  ): Promise<{ data?: T; errors?: { message: string }[] }>;
  close(): Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed JSON); `body` is JSON-encoded otherwise. */
  rawBody?: string;
  bearer?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A fetch response, read whole: its text, and its JSON when it is JSON. */
export async function readTestResponse(response: Response): Promise<TestResponse> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Settings for a test gateway: loopback, ephemeral port, the test secret, quick background work; `env` overrides. */
export function testConfig(databaseUrl: string, dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "silent",
    OUTBOX_POLL_INTERVAL: "100ms",
    OUTBOX_RETRY_MAX: "500ms",
    CLAIM_EXPIRY_SWEEP_INTERVAL: "200ms",
    // Scenarios sign in and claim far more often than people do; the rate-limit tests turn them on.
    RATE_LIMITS: "off",
    ...env,
  });
}

/**
 * A gateway on an ephemeral port over a fresh database; settings as environment variables. With
 * `DATABASE_URL` in `env`, it joins that database instead (a second instance), and leaves it be.
 */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const database = env.DATABASE_URL ? { url: env.DATABASE_URL, drop: async () => {} } : await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-test-data-"));
  const config = testConfig(database.url, dataDir, env);
  const logs: string[] = [];
  const gateway = await createGateway(config, capturingLogger(logs));
  const url = await gateway.listen();
  const responses: string[] = [];

  const request = async (method: string, route: string, options: RequestOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    if (options.cookie) headers.cookie = options.cookie;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const response = await readTestResponse(await fetch(`${url}${route}`, { method, headers, body }));
    responses.push(response.text);
    return response;
  };

  return {
    gateway,
    config,
    url,
    prisma: gateway.services.prisma,
    responses,
    logs,
    request,
    async graphql(query, variables, bearer) {
      const response = await request("POST", "/graphql", { body: { query, variables }, bearer });
      return response.json;
    },
    async close() {
      await gateway.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The gateway's own JSON logger at debug level, writing each line into `lines`. */
function capturingLogger(lines: string[]): Logger {
  return createLogger("debug", { write: (line: string) => void lines.push(line.trimEnd()) });
}

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  [field: string]: unknown;
}

/** The lines a test gateway logged, parsed. */
export function logEntries(t: TestGateway): LogEntry[] {
  return t.logs.map((line) => JSON.parse(line) as LogEntry);
}

/** Every sample of a scrape of a gateway's `/metrics`, as `name{labels}` -> value. */
export async function scrapeMetrics(t: Pick<TestGateway, "request">): Promise<Map<string, number>> {
  const response = await t.request("GET", "/metrics");
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of response.text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
