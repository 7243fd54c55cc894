import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Db } from "../src/db/database";
import { verifyPassword } from "../src/domain/passwords";
import { loadSeed, parseSeedFile, SeedError } from "../src/services/seed-service";
import { useTestDatabase } from "./support/database";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");
const DEMO = path.join(ROOT, "seed/demo.json");

const testDatabase = useTestDatabase();
let prisma: Db;
beforeAll(() => ({ prisma } = testDatabase));
beforeEach(async () => {
  await prisma.$executeRawUnsafe(`TRUNCATE "customer", "order", "line_item", "address" CASCADE`);
});

/** Everything a seed writes, minus the columns that record when it was written. */
async function snapshot() {
  const strip = <T extends { updated_at?: Date }>(rows: T[]) => rows.map(({ updated_at: _u, ...row }) => row);
  return {
    customers: strip(await prisma.customer.findMany({ orderBy: { id: "asc" } })),
    orders: strip(await prisma.order.findMany({ orderBy: { id: "asc" } })),
    items: strip(await prisma.lineItem.findMany({ orderBy: { id: "asc" } })),
    addresses: strip(await prisma.address.findMany({ orderBy: { id: "asc" } })),
  };
}

const demo = () => JSON.parse(fs.readFileSync(DEMO, "utf8"));

describe("seed loader", () => {
  it("loads the demo file and gives the same database when loaded twice", async () => {
    await loadSeed(prisma, parseSeedFile(demo()));
    const first = await snapshot();
    await loadSeed(prisma, parseSeedFile(demo()));
    expect(await snapshot()).toEqual(first);

    expect(first.orders).toHaveLength(6);
    const ann = first.customers.find((c) => c.id === "cus_ann")!;
    expect(await verifyPassword(ann.password_hash!, "correct horse")).toBe(true);
    // Guest orders belong to one guest record per email (case-insensitive), created once.
    const guests = first.customers.filter((c) => !c.has_account);
    expect(guests.map((g) => g.email).sort()).toEqual(["ann.home@example.net", "ann.work@example.com"]);
    const work = guests.find((g) => g.email === "ann.work@example.com")!;
    expect(
      first.orders
        .filter((o) => o.customer_id === work.id)
        .map((o) => o.id)
        .sort(),
    ).toEqual(["order_1001", "order_1002", "order_1004"]);
  });

  it("moves the display_id sequence past explicit numbers", async () => {
    await loadSeed(prisma, parseSeedFile(demo()));
    const created = await prisma.order.create({
      data: { id: "order_next", email: "x@example.com", currency_code: "usd", customer_id: "cus_ann" },
    });
    expect(created.display_id).toBe(1007);
  });

  it.each([
    [
      { orders: [{ id: "order_1", email: "a@example.com", items: [{ title: "Mug", quantity: 0, unit_price: 1 }] }] },
      "orders[0] (order_1).items[0].quantity: must be a positive integer",
    ],
    [{ orders: [{ id: "order_1" }] }, "orders[0] (order_1).email: must be an email address"],
    [
      { customers: [{ id: "cus_1", email: "a@example.com", has_account: true }] },
      "customers[0] (cus_1).password: is required when has_account is true",
    ],
    [
      { orders: [{ email: "a@example.com", status: "lost" }] },
      "orders[0].status: must be one of pending, completed, archived, canceled, requires_action",
    ],
    [{ orders: [{ email: "a@example.com", colour: "red" }] }, "orders[0].colour: is not a known field"],
    [
      {
        orders: [
          { id: "o1", email: "a@example.com" },
          { id: "o1", email: "b@example.com" },
        ],
      },
      "orders[1]: id o1 is used by orders[0] too",
    ],
    [{ orders: "none" }, "orders: must be an array"],
    [
      { orders: [{ id: "o1", email: "a@example.com", items: [{ title: "Mug\u0000", quantity: 1, unit_price: 1 }] }] },
      "orders[0] (o1).items[0].title: must not contain control characters",
    ],
    [[], "(file): Invalid input: expected object, received array"],
  ])("refuses a bad file, naming entry and field: %j", async (file, message) => {
    expect(() => parseSeedFile(file)).toThrow(new SeedError(message));
  });

  it("writes nothing when an entry fails against the database", async () => {
    const file = parseSeedFile({
      customers: [{ id: "cus_new", email: "new@example.com" }],
      orders: [
        { id: "order_ok", email: "new@example.com", customer_id: "cus_new" },
        { id: "order_bad", email: "x@example.com", customer_id: "cus_missing" },
      ],
    });
    await expect(loadSeed(prisma, file)).rejects.toThrow(
      "orders[1] (order_bad).customer_id: no customer cus_missing in this file or the database",
    );
    expect(await prisma.customer.count()).toBe(0);
    expect(await prisma.order.count()).toBe(0);
  });
});

describe("npm run seed", () => {
  const seedCommand = (file: string, env: Record<string, string>) =>
    run(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "src/cli/seed.ts"), file], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: testDatabase.url, LOG_LEVEL: "warn", ...env },
    });

  it("loads a file into the configured database and says what it did", async () => {
    const { stdout } = await seedCommand(DEMO, {});
    expect(stdout).toContain("seeded 2 customers and 6 orders");
    expect(await prisma.order.count()).toBe(6);
  });

  it("refuses a bad file with exit code 1 and a message naming the entry", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "seed-")), "bad.json");
    fs.writeFileSync(file, JSON.stringify({ orders: [{ id: "order_9", email: "not-an-email" }] }));
    const failure = await seedCommand(file, {}).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("orders[0] (order_9).email: must be an email address");
    expect(await prisma.order.count()).toBe(0);
  });
});
