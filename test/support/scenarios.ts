import jwt from "jsonwebtoken";
import type { Db } from "../../src/db/database";
import { loadSeed, parseSeedFile, type SeedFile } from "../../src/services/seed-service";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./gateway";
import { TestMailServer } from "./smtp";

type SeedCustomer = NonNullable<SeedFile["customers"]>[number] & { id: string };
type SeedOrder = NonNullable<SeedFile["orders"]>[number] & { id: string };

/** Named fixtures (Redwood-style scenarios), loaded through the seed loader itself. */
export interface Scenario<C extends string, O extends string> {
  customers: Record<C, SeedCustomer>;
  orders: Record<O, SeedOrder>;
}

export function defineScenario<C extends string, O extends string>(scenario: Scenario<C, O>): Scenario<C, O> {
  return scenario;
}

export async function seedScenario(prisma: Db, scenario: Scenario<string, string>): Promise<void> {
  await loadSeed(
    prisma,
    parseSeedFile({ customers: Object.values(scenario.customers), orders: Object.values(scenario.orders) }),
  );
}

const item = (title: string, unit_price: number, quantity = 1) => ({ title, unit_price, quantity });

/**
 * Ann has an account (ann@example.com) and placed guest orders under two other addresses; one of
 * them is canceled. Bob has an account and an order of his own.
 */
export const claimScenario = defineScenario({
  customers: {
    ann: {
      id: "cus_ann",
      email: "ann@example.com",
      password: "correct horse",
      first_name: "Ann",
      last_name: "Lee",
      has_account: true,
    },
    bob: { id: "cus_bob", email: "bob@example.com", password: "battery staple", first_name: "Bob", has_account: true },
    workGuest: { id: "cus_guest_work", email: "ann.work@example.com", has_account: false },
  },
  orders: {
    work1: {
      id: "order_w1",
      display_id: 1001,
      email: "ann.work@example.com",
      customer_id: "cus_guest_work",
      items: [item("Mug", 1500, 2)],
    },
    work2: {
      id: "order_w2",
      display_id: 1002,
      email: "Ann.Work@Example.com",
      customer_id: "cus_guest_work",
      items: [item("Teapot", 4200)],
    },
    home: { id: "order_h1", display_id: 1003, email: "ann.home@example.net", items: [item("Notebook", 350, 4)] },
    canceled: {
      id: "order_c1",
      display_id: 1004,
      email: "ann.work@example.com",
      customer_id: "cus_guest_work",
      status: "canceled",
    },
    annOwn: {
      id: "order_a1",
      display_id: 1005,
      email: "ann@example.com",
      customer_id: "cus_ann",
      items: [item("Coasters", 1200)],
    },
    bobs: {
      id: "order_b1",
      display_id: 1006,
      email: "bob@example.com",
      customer_id: "cus_bob",
      items: [item("Kettle", 5500)],
    },
  },
});

/** A store JWT as `POST /store/auth/token` issues it, for customers who cannot log in (guests). */
export function storeTokenFor(customerId: string): string {
  return jwt.sign({ customer_id: customerId, domain: "store" }, TEST_JWT_SECRET, {
    algorithm: "HS256",
    expiresIn: "1h",
  });
}

export async function loginToken(t: TestGateway, email: string, password: string): Promise<string> {
  const response = await t.request("POST", "/store/auth/token", { body: { email, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.text}`);
  return response.json.access_token;
}

/**
 * An account registered under the work guest's own address (by its owner, or by someone before
 * them: sign-up proves no address), with `password`; returns it with its store JWT.
 */
export async function registerOnWorkAddress(t: TestGateway, password: string) {
  const account = { email: claimScenario.customers.workGuest.email, password, first_name: "Ann", last_name: "Work" };
  const registered = await t.request("POST", "/store/customers", { body: account });
  if (registered.status !== 200) throw new Error(`sign-up failed: ${registered.status} ${registered.text}`);
  return { ...account, token: await loginToken(t, account.email, password) };
}

/** Undoes registerOnWorkAddress and what followed: claims and sessions gone, the guest's orders its own again. */
export async function unregisterWorkAddress(t: TestGateway): Promise<void> {
  const { workGuest } = claimScenario.customers;
  await t.prisma.orderClaim.deleteMany();
  await t.prisma.customerSession.deleteMany();
  const guestOrders = Object.values(claimScenario.orders).filter((order) => order.customer_id === workGuest.id);
  await t.prisma.order.updateMany({
    where: { id: { in: guestOrders.map((order) => order.id) } },
    data: { customer_id: workGuest.id },
  });
  await t.prisma.customer.deleteMany({ where: { email: workGuest.email, has_account: true } });
}

export interface ClaimFixture {
  t: TestGateway;
  mail: TestMailServer;
  /** Ann's store JWT. */
  annToken: string;
}

/**
 * The claim scenario on a gateway that mails to a loopback SMTP server. Registers the hooks:
 * before each test, outstanding deliveries finish, claims and mail are cleared and the scenario
 * is loaded again (which hands claimed orders back to their guest records).
 */
export function useClaimFixture(env: Record<string, string> = {}): ClaimFixture {
  const fixture = {} as ClaimFixture;
  beforeAll(async () => {
    fixture.mail = await new TestMailServer().start();
    fixture.t = await startTestGateway({ SMTP_URL: fixture.mail.url, ...env });
    await seedScenario(fixture.t.prisma, claimScenario);
    fixture.annToken = await loginToken(
      fixture.t,
      claimScenario.customers.ann.email,
      claimScenario.customers.ann.password!,
    );
  });
  afterAll(async () => {
    await fixture.t?.close();
    await fixture.mail?.stop();
  });
  beforeEach(async () => {
    await fixture.t.gateway.jobWorker!.flush();
    fixture.mail.messages.length = 0;
    await fixture.t.prisma.orderClaim.deleteMany();
    await fixture.t.prisma.outboxEvent.deleteMany();
    await seedScenario(fixture.t.prisma, claimScenario);
  });
  return fixture;
}
