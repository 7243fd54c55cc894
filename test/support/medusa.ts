import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { withPgClient } from "../../src/db/pg-client";
import { createEmptyDatabase } from "./database";
import { readTestResponse, type TestResponse } from "./gateway";
import { freePort, sleep } from "./wait";

/** The Medusa v1 server the gateway tests run beside ordergate (its own package.json and lock). */
export const MEDUSA_DIR = path.join(__dirname, "..", "..", "medusa-v1-server");
const MEDUSA_CLI = path.join(MEDUSA_DIR, "node_modules", "@medusajs", "medusa-cli", "cli.js");

/** `.ci/run` installs it (`npm ci --prefix medusa-v1-server`); a developer may not have. */
export const medusaInstalled = () => fs.existsSync(MEDUSA_CLI);

/**
 * `describe` for tests that need the Medusa test server: without it installed, they are skipped
 * with a printed reason naming `tests`; CI installs it and must run them (with CI=true they run).
 */
export function describeWithMedusa(tests: string): jest.Describe {
  if (medusaInstalled() || process.env.CI === "true") return describe;
  console.warn(`skipping ${tests}: run \`npm ci --prefix medusa-v1-server\` to install the Medusa v1 test server`);
  return describe.skip;
}

const run = promisify(execFile);

/** The storefront origin Medusa's own CORS policy allows (store_cors). */
export const MEDUSA_STORE_CORS = "http://shop.example";

/** The seeded tables whose rows Medusa lists in created_at order. */
const SEEDED_TABLES = [
  "region",
  "product",
  "product_variant",
  "product_collection",
  "product_category",
  "shipping_option",
];

/** The seed's region (Medusa gives it an id of its own) and product variant (medusa-v1-server/seed.json). */
const SEED_REGION_NAME = "EU";
const SEED_VARIANT_SKU = "REF-TS-S";

/**
 * A real Medusa v1.20.11 on a database of its own (migrated and seeded with Medusa's own CLI), on a
 * loopback port, with the JWT secret given. `stop()` and `start()` again simulate an outage.
 */
export class TestMedusa {
  port = 0;
  private child: ChildProcess | undefined;
  private log = "";

  private constructor(
    readonly databaseUrl: string,
    private readonly dropDatabase: () => Promise<void>,
    readonly jwtSecret: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A database migrated and seeded by Medusa (about 10 s). */
  static async create(jwtSecret: string): Promise<TestMedusa> {
    const database = await createEmptyDatabase("medusa_test");
    const medusa = new TestMedusa(database.url, database.drop, jwtSecret);
    await run(process.execPath, [MEDUSA_CLI, "migrations", "run"], {
      cwd: MEDUSA_DIR,
      env: medusa.env(),
      maxBuffer: 16 * 1024 * 1024,
    });
    await run(process.execPath, [MEDUSA_CLI, "seed", "-f", "./seed.json"], {
      cwd: MEDUSA_DIR,
      env: medusa.env(),
      maxBuffer: 16 * 1024 * 1024,
    });
    // The seed writes everything in one transaction: every row has the same created_at, and Medusa's
    // lists, ordered by it, come in any order from one request to the next. A shop's rows do not tie:
    // one millisecond apart, in the order of their ids.
    await withPgClient(database.url, async (client) => {
      for (const table of SEEDED_TABLES)
        await client.query(
          `UPDATE ${table} SET created_at = ${table}.created_at + spread.n * interval '1 millisecond'
             FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM ${table}) AS spread
            WHERE ${table}.id = spread.id`,
        );
    });
    return medusa;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "development",
      MEDUSA_DISABLE_TELEMETRY: "true",
      DATABASE_URL: this.databaseUrl,
      JWT_SECRET: this.jwtSecret,
      COOKIE_SECRET: "medusa-test-cookie-secret",
      // Medusa answers browsers from this origin with CORS headers of its own.
      STORE_CORS: MEDUSA_STORE_CORS,
      // `medusa start` listens on every interface; this keeps it on loopback.
      NODE_OPTIONS: `--require ${path.join(MEDUSA_DIR, "bind-localhost.js")}`,
    };
  }

  /** Starts `medusa start` and waits until `/health` answers (about 5 s). */
  async start(): Promise<this> {
    this.port ||= await freePort();
    this.log = "";
    // Its own process group: `medusa start` may fork, and stop() ends them all.
    const child = spawn(process.execPath, [MEDUSA_CLI, "start", "-p", String(this.port)], {
      cwd: MEDUSA_DIR,
      env: this.env(),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout!.on("data", (chunk) => (this.log += String(chunk)));
    child.stderr!.on("data", (chunk) => (this.log += String(chunk)));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`medusa start exited with ${child.exitCode}:\n${this.log}`);
      const healthy = await fetch(`${this.url}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (healthy) return this;
      if (Date.now() > deadline) throw new Error(`Medusa did not answer /health in 90 s:\n${this.log}`);
      await sleep(200);
    }
  }

  /** The pid of `medusa start` while it runs (the root of Medusa's processes, for their CPU and memory). */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Sends a signal to Medusa's processes (SIGSTOP freezes it: connections are accepted, nothing answers). */
  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid) process.kill(-this.child.pid, signal);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid!, "SIGTERM");
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.dropDatabase();
  }

  /** A Store API call to Medusa itself (or, with `baseUrl`, through ordergate). */
  async request(
    method: string,
    route: string,
    options: { body?: unknown; bearer?: string; baseUrl?: string } = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    return readTestResponse(await fetch(`${options.baseUrl ?? this.url}${route}`, { method, headers, body }));
  }

  /** The id Medusa gave the seed's region. */
  async regionId(): Promise<string> {
    const { json } = await this.request("GET", "/store/regions");
    return json.regions.find((region: { name: string }) => region.name === SEED_REGION_NAME).id;
  }

  /**
   * A whole guest checkout through Medusa's Store API (cart, item, addresses, shipping, manual
   * payment, complete), as a storefront runs it; `baseUrl` sends it through ordergate instead.
   * Resolves with the order Medusa made.
   */
  async placeGuestOrder(email: string, options: { baseUrl?: string; quantity?: number } = {}) {
    const call = async (method: string, route: string, body?: unknown) => {
      const response = await this.request(method, route, { body, baseUrl: options.baseUrl });
      if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${response.text}`);
      return response.json;
    };
    const products = await call("GET", "/store/products");
    const variant = products.products
      .flatMap((product: { variants: { id: string; sku: string }[] }) => product.variants)
      .find((v: { sku: string }) => v.sku === SEED_VARIANT_SKU);
    const { cart } = await call("POST", "/store/carts", { region_id: await this.regionId() });
    await call("POST", `/store/carts/${cart.id}/line-items`, {
      variant_id: variant.id,
      quantity: options.quantity ?? 1,
    });
    const address = {
      first_name: "Ann",
      last_name: "Lee",
      address_1: "1 Main St",
      city: "Copenhagen",
      postal_code: "1000",
      country_code: "dk",
    };
    await call("POST", `/store/carts/${cart.id}`, { email, shipping_address: address, billing_address: address });
    const { shipping_options: shippingOptions } = await call("GET", `/store/shipping-options/${cart.id}`);
    await call("POST", `/store/carts/${cart.id}/shipping-methods`, { option_id: shippingOptions[0].id });
    await call("POST", `/store/carts/${cart.id}/payment-sessions`);
    await call("POST", `/store/carts/${cart.id}/payment-session`, { provider_id: "manual" });
    const completed = await call("POST", `/store/carts/${cart.id}/complete`);
    if (completed.type !== "order") throw new Error(`the cart did not become an order: ${JSON.stringify(completed)}`);
    return completed.data as { id: string; display_id: number; email: string; customer_id: string; cart_id: string };
  }

  /** A customer with an account, registered through Medusa; resolves with Medusa's JWT for it. */
  async registerCustomer(email: string, password: string): Promise<{ id: string; token: string }> {
    const created = await this.request("POST", "/store/customers", {
      body: { email, password, first_name: "Ann", last_name: "Lee" },
    });
    if (created.status !== 200) throw new Error(`registering ${email}: ${created.status} ${created.text}`);
    const login = await this.request("POST", "/store/auth/token", { body: { email, password } });
    if (login.status !== 200) throw new Error(`signing in ${email}: ${login.status} ${login.text}`);
    return { id: created.json.customer.id, token: login.json.access_token };
  }
}
