import jwt from "jsonwebtoken";
import { createPrismaClient } from "../../src/db/database";
import { loadSeed, parseSeedFile, type SeedFile } from "../../src/services/seed-service";

export const CUSTOMERS = 50;
export const GUEST_ORDERS = 2000;
/** Orders each registered customer owns from the start, so the read routes return full pages. */
const OWN_ORDERS_PER_CUSTOMER = 10;
/** Guest orders per seed transaction: the seed loader writes row by row in one transaction. */
const SEED_CHUNK = 500;

export interface GuestOrder {
  id: string;
  displayId: number;
  email: string;
}

export interface Fixtures {
  /** A store JWT per registered customer, as `POST /store/auth/token` issues it. */
  bearers: string[];
  customerIds: string[];
  guestOrders: GuestOrder[];
}

const items = [
  { title: "Mug", quantity: 2, unit_price: 1500 },
  { title: "Green tea, 100 g", quantity: 1, unit_price: 900 },
];
const address = { first_name: "Bench", last_name: "Mark", address_1: "1 Main St", city: "Springfield", postal_code: "12345", country_code: "us" };

/**
 * Loads 50 registered customers (with passwords, each owning 10 orders) and 2,000 guest orders,
 * one per email address, through the seed loader, and makes each customer's store JWT.
 */
export async function seedFixtures(databaseUrl: string, jwtSecret: string): Promise<Fixtures> {
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({
    id: `cus_bench_${i}`,
    email: `customer${i}@bench.example`,
    password: `bench password ${i}`,
    first_name: "Bench",
    last_name: `Customer ${i}`,
    has_account: true,
  }));
  const ownOrders = customers.flatMap((customer, i) =>
    Array.from({ length: OWN_ORDERS_PER_CUSTOMER }, (_, k) => ({
      id: `order_own_${i}_${k}`,
      display_id: 100_000 + i * OWN_ORDERS_PER_CUSTOMER + k,
      email: customer.email,
      customer_id: customer.id,
      items,
      shipping_address: address,
    })),
  );
  const guestOrders: GuestOrder[] = Array.from({ length: GUEST_ORDERS }, (_, n) => ({ id: `order_guest_${n}`, displayId: 1 + n, email: `guest${n}@bench.example` }));
  const guestSeed: NonNullable<SeedFile["orders"]> = guestOrders.map((order) => ({
    id: order.id,
    display_id: order.displayId,
    email: order.email,
    items,
    shipping_address: address,
  }));

  const prisma = createPrismaClient(databaseUrl);
  try {
    await loadSeed(prisma, parseSeedFile({ customers, orders: ownOrders }));
    for (let start = 0; start < guestSeed.length; start += SEED_CHUNK) {
      await loadSeed(prisma, parseSeedFile({ orders: guestSeed.slice(start, start + SEED_CHUNK) }));
    }
  } finally {
    await prisma.$disconnect();
  }
  return {
    bearers: customers.map((c) => jwt.sign({ customer_id: c.id, domain: "store" }, jwtSecret, { algorithm: "HS256", expiresIn: "2h" })),
    customerIds: customers.map((c) => c.id),
    guestOrders,
  };
}

export const randomIndex = (length: number) => Math.floor(Math.random() * length);

/**
 * Which guest orders each claim asks for. A random customer per request, and per customer a
 * shuffled walk through the guest orders: a customer asks again for an order only after it has
 * asked for all 2,000, so no claim supersedes another of the same customer (which could drop its
 * email before it is sent) and none asks for an order it already owns from a confirmation; every
 * claim opened is owed an email.
 */
export class ClaimPlan {
  private readonly walks: number[][];
  private readonly positions: number[];
  /** Set once some customer walked past the end of the orders: from then on, supersessions can happen. */
  wrapped = false;

  constructor(private readonly fixtures: Fixtures) {
    this.walks = fixtures.customerIds.map(() => shuffled(fixtures.guestOrders.length));
    this.positions = fixtures.customerIds.map(() => 0);
  }

  next(count: number): { bearer: string; orderIds: string[] } {
    const customer = randomIndex(this.walks.length);
    const walk = this.walks[customer]!;
    const orderIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const position = this.positions[customer]!++;
      if (position >= walk.length) this.wrapped = true;
      orderIds.push(this.fixtures.guestOrders[walk[position % walk.length]!]!.id);
    }
    return { bearer: this.fixtures.bearers[customer]!, orderIds };
  }
}

function shuffled(length: number): number[] {
  const values = Array.from({ length }, (_, i) => i);
  for (let i = length - 1; i > 0; i--) {
    const j = randomIndex(i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}
