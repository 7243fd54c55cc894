import jwt from "jsonwebtoken";
import { createPrismaClient } from "../../src/db/database";
import { loadSeed, parseSeedFile, type SeedFile } from "../../src/services/seed-service";

export const CUSTOMERS = 50;
export const GUEST_ORDERS = 4000;
/** Guest orders per email address: a person who checked out as a guest ten times claims them together. */
export const ORDERS_PER_GUEST = 10;
/**
 * Claims of one id ask for the orders of the first 100 addresses, claims of several for the other
 * 300: one customer's claims never overlap (no supersession: every claim is owed its email and
 * every token it carries still works) until a walk wraps, at 1,000 and 300 claims per customer.
 */
const SINGLE_ORDER_POOL = 1000;
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
const address = {
  first_name: "Bench",
  last_name: "Mark",
  address_1: "1 Main St",
  city: "Springfield",
  postal_code: "12345",
  country_code: "us",
};

/**
 * Loads 50 registered customers (with passwords, each owning 10 orders) and 4,000 guest orders,
 * 10 per email address, through the seed loader, and makes each customer's store JWT.
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
  const guestOrders: GuestOrder[] = Array.from({ length: GUEST_ORDERS }, (_, n) => ({
    id: `order_guest_${n}`,
    displayId: 1 + n,
    email: `guest${Math.floor(n / ORDERS_PER_GUEST)}@bench.example`,
  }));
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
    // The store's tables with statistics, as a live store's are: autovacuum would gather them a
    // minute or so after the load, in the middle of a run, and the planner's choices would change
    // there. Not ordergate's own, empty so far: as on a new install, autovacuum analyzes them once
    // they hold rows (analyzed empty, they would plan scans that the run's claims then outgrow).
    const tables = await prisma.$queryRaw<{ name: string }[]>`
      SELECT format('%I.%I', schemaname, tablename) AS "name" FROM pg_tables WHERE schemaname = 'public'`;
    await prisma.$executeRawUnsafe(`ANALYZE ${tables.map((table) => table.name).join(", ")}`);
  } finally {
    await prisma.$disconnect();
  }
  return {
    bearers: customers.map((c) => storeBearer(c.id, jwtSecret)),
    customerIds: customers.map((c) => c.id),
    guestOrders,
  };
}

/** A customer's store JWT as `POST /store/auth/token` issues it (ordergate's and Medusa v1's alike). */
export const storeBearer = (customerId: string, jwtSecret: string) =>
  jwt.sign({ customer_id: customerId, domain: "store" }, jwtSecret, { algorithm: "HS256", expiresIn: "2h" });

export const randomIndex = (length: number) => Math.floor(Math.random() * length);

/**
 * Which guest orders each claim asks for. A random customer per request. A claim of one id takes
 * the next order of the customer's shuffled walk through the single-order pool; a claim of several
 * takes the next address of its walk through the other addresses, with that address's orders (one
 * claim, one email, as when a person claims the orders they placed as a guest). See
 * SINGLE_ORDER_POOL: claims supersede one another only once a walk wraps.
 */
export class ClaimPlan {
  private readonly orderWalks: Walk[];
  private readonly guestWalks: Walk[];

  constructor(private readonly fixtures: Fixtures) {
    const groups = (fixtures.guestOrders.length - SINGLE_ORDER_POOL) / ORDERS_PER_GUEST;
    this.orderWalks = fixtures.customerIds.map(() => new Walk(SINGLE_ORDER_POOL));
    this.guestWalks = fixtures.customerIds.map(() => new Walk(groups));
  }

  next(count: number): { bearer: string; orderIds: string[] } {
    if (count > ORDERS_PER_GUEST)
      throw new Error(`a claim can ask for at most ${ORDERS_PER_GUEST} orders (one address's)`);
    const customer = randomIndex(this.fixtures.customerIds.length);
    const bearer = this.fixtures.bearers[customer]!;
    if (count === 1) return { bearer, orderIds: [this.fixtures.guestOrders[this.orderWalks[customer]!.next()]!.id] };
    const first = SINGLE_ORDER_POOL + this.guestWalks[customer]!.next() * ORDERS_PER_GUEST;
    return { bearer, orderIds: this.fixtures.guestOrders.slice(first, first + count).map((order) => order.id) };
  }
}

/** A shuffled walk through 0..length-1, starting over when it ends. */
class Walk {
  private readonly order: number[];
  private position = 0;

  constructor(length: number) {
    this.order = shuffled(length);
  }

  next(): number {
    return this.order[this.position++ % this.order.length]!;
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
