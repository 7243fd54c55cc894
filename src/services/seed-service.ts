// The seed file's format (zod) and its loader in one file: the format is the loader's contract.
import { z } from "zod";
import { type Db, Prisma } from "../db/database";
import { FulfillmentStatus, OrderStatus, PaymentStatus } from "../db/generated/prisma/enums";
import { hasControlCharacters, isEmail, normalizeEmail } from "../domain/email";
import { newId } from "../domain/ids";
import { hashPassword, verifyPassword } from "../domain/passwords";

const printable = z.string().refine((value) => !hasControlCharacters(value), "must not contain control characters");
const text = printable.trim().min(1, "must be a non-empty string");
const optionalText = printable.trim().optional();
const email = z.string({ error: "must be an email address" }).trim().refine(isEmail, "must be an email address");
const timestamp = z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time such as 2026-01-01T10:00:00Z" });

const addressSchema = z.strictObject({
  id: text.optional(),
  first_name: optionalText,
  last_name: optionalText,
  company: optionalText,
  address_1: optionalText,
  address_2: optionalText,
  city: optionalText,
  province: optionalText,
  postal_code: optionalText,
  country_code: z
    .string()
    .trim()
    .regex(/^[a-zA-Z]{2}$/, "must be a two-letter country code")
    .optional(),
  phone: optionalText,
});

const itemSchema = z.strictObject({
  id: text.optional(),
  title: text,
  description: optionalText,
  thumbnail: optionalText,
  variant_id: optionalText,
  quantity: z
    .number({ error: "must be a positive integer" })
    .int("must be a positive integer")
    .positive("must be a positive integer"),
  unit_price: z
    .number({ error: "must be an integer amount in minor units" })
    .int("must be an integer amount in minor units")
    .min(0, "must not be negative"),
});

const customerSchema = z
  .strictObject({
    id: text.optional(),
    email,
    password: z.string().min(1, "must not be empty").optional(),
    first_name: optionalText,
    last_name: optionalText,
    phone: optionalText,
    has_account: z.boolean({ error: "must be true or false" }).optional(),
  })
  .refine((c) => c.has_account !== true || c.password !== undefined, {
    path: ["password"],
    message: "is required when has_account is true",
  });

const orderSchema = z.strictObject({
  id: text.optional(),
  display_id: z
    .number({ error: "must be a positive integer" })
    .int("must be a positive integer")
    .positive("must be a positive integer")
    .optional(),
  email,
  customer_id: text.nullable().optional(),
  status: z
    .enum(Object.values(OrderStatus), { error: `must be one of ${Object.values(OrderStatus).join(", ")}` })
    .optional(),
  fulfillment_status: z
    .enum(Object.values(FulfillmentStatus), { error: `must be one of ${Object.values(FulfillmentStatus).join(", ")}` })
    .optional(),
  payment_status: z
    .enum(Object.values(PaymentStatus), { error: `must be one of ${Object.values(PaymentStatus).join(", ")}` })
    .optional(),
  currency_code: z
    .string()
    .trim()
    .regex(/^[a-zA-Z]{3}$/, "must be a three-letter currency code")
    .optional(),
  cart_id: text.optional(),
  region_id: optionalText,
  created_at: timestamp.optional(),
  items: z.array(itemSchema, { error: "must be an array" }).optional(),
  shipping_address: addressSchema.optional(),
});

const seedSchema = z.strictObject({
  customers: z.array(customerSchema, { error: "must be an array" }).optional(),
  orders: z.array(orderSchema, { error: "must be an array" }).optional(),
});

export type SeedFile = z.infer<typeof seedSchema>;
type SeedOrder = z.infer<typeof orderSchema>;

export class SeedError extends Error {
  override name = "SeedError";
}

export interface SeedResult {
  customers: number;
  orders: number;
}

/** `orders[2] (order_1003).items[0].quantity` — names the entry by index and, when it has one, its id. */
function describePath(data: unknown, path: PropertyKey[]): string {
  let out = "";
  let node: unknown = data;
  for (const key of path) {
    node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
    if (typeof key === "number") {
      out += `[${key}]`;
      const id = (node as { id?: unknown } | undefined)?.id;
      if (typeof id === "string" && path.length > 2) out += ` (${id})`;
    } else out += out ? `.${String(key)}` : String(key);
  }
  return out || "(file)";
}

/** Checks a seed file; throws a SeedError listing every problem by entry and field. */
export function parseSeedFile(data: unknown): SeedFile {
  const parsed = seedSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
      if (unknownKeys.length > 0)
        return unknownKeys.map((key) => `${describePath(data, [...issue.path, key])}: is not a known field`).join("\n");
      return `${describePath(data, issue.path)}: ${issue.message}`;
    });
    throw new SeedError(problems.join("\n"));
  }
  const seed = parsed.data;
  const problems: string[] = [];
  const firstIndex = new Map<string, string>();
  const unique = (key: string | number | undefined, kind: string, where: string) => {
    if (key === undefined) return;
    const seen = firstIndex.get(`${kind}:${key}`);
    if (seen) problems.push(`${where}: ${kind} ${key} is used by ${seen} too`);
    else firstIndex.set(`${kind}:${key}`, where);
  };
  seed.customers?.forEach((c, i) => unique(c.id, "id", `customers[${i}]`));
  seed.orders?.forEach((o, i) => {
    unique(o.id, "id", `orders[${i}]`);
    unique(o.display_id, "display_id", `orders[${i}]`);
    unique(o.cart_id, "cart_id", `orders[${i}]`);
  });
  if (problems.length > 0) throw new SeedError(problems.join("\n"));
  return seed;
}

/**
 * Writes a checked seed file in one transaction: idempotent by id (upserts), so loading it twice
 * gives the same database; on any error nothing is written.
 */
export async function loadSeed(prisma: Db, seed: SeedFile): Promise<SeedResult> {
  const customers = seed.customers ?? [];
  const orders = seed.orders ?? [];
  // scrypt is slow: hash outside the transaction, and keep a stored hash that already matches.
  const existing = await prisma.customer.findMany({
    where: { id: { in: customers.flatMap((c) => (c.id ? [c.id] : [])) } },
    select: { id: true, password_hash: true },
  });
  const storedHash = new Map(existing.map((c) => [c.id, c.password_hash]));
  const passwordHashes = await Promise.all(
    customers.map(async (c) => {
      if (c.password === undefined) return undefined;
      const stored = c.id ? storedHash.get(c.id) : undefined;
      return stored && (await verifyPassword(stored, c.password)) ? stored : hashPassword(c.password);
    }),
  );

  return prisma.$transaction(
    async (tx) => {
      for (const [index, customer] of customers.entries()) {
        const hasAccount = customer.has_account ?? customer.password !== undefined;
        const fields = {
          email: normalizeEmail(customer.email),
          first_name: customer.first_name ?? null,
          last_name: customer.last_name ?? null,
          phone: customer.phone ?? null,
          has_account: hasAccount,
          password_hash: passwordHashes[index] ?? null,
          deleted_at: null,
        };
        const id =
          customer.id ??
          (
            await tx.customer.findFirst({
              where: { email: fields.email, has_account: hasAccount, deleted_at: null },
              select: { id: true },
            })
          )?.id ??
          newId("cus");
        await guard(`customers[${index}]`, () =>
          tx.customer.upsert({ where: { id }, create: { id, ...fields }, update: fields }),
        );
      }

      for (const [index, order] of orders.entries()) {
        await upsertOrder(tx, order, `orders[${index}]${order.id ? ` (${order.id})` : ""}`);
      }
      // Explicit display ids must not collide with the next generated one.
      await tx.$executeRaw`
        SELECT setval(
          pg_get_serial_sequence('"public"."order"', 'display_id'),
          GREATEST((SELECT max("display_id") FROM "public"."order"), 1)
        )`;
      return { customers: customers.length, orders: orders.length };
    },
    { timeout: 120_000 },
  );
}

async function upsertOrder(tx: Prisma.TransactionClient, order: SeedOrder, where: string): Promise<void> {
  const id =
    order.id ??
    (order.display_id !== undefined
      ? (await tx.order.findFirst({ where: { display_id: order.display_id }, select: { id: true } }))?.id
      : undefined) ??
    (order.cart_id
      ? (await tx.order.findUnique({ where: { cart_id: order.cart_id }, select: { id: true } }))?.id
      : undefined) ??
    newId("order");
  const suffix = id.replace(/^order_/, "");

  if (order.display_id !== undefined) {
    const holder = await tx.order.findFirst({
      where: { display_id: order.display_id, id: { not: id } },
      select: { id: true },
    });
    if (holder) throw new SeedError(`${where}.display_id: ${order.display_id} already belongs to order ${holder.id}`);
  }

  let customerId = order.customer_id ?? undefined;
  if (customerId) {
    const found = await tx.customer.findUnique({ where: { id: customerId }, select: { id: true } });
    if (!found) throw new SeedError(`${where}.customer_id: no customer ${customerId} in this file or the database`);
  } else {
    // Medusa: a guest order belongs to the guest customer record for its email.
    const guestEmail = normalizeEmail(order.email);
    customerId =
      (
        await tx.customer.findFirst({
          where: { email: guestEmail, has_account: false, deleted_at: null },
          select: { id: true },
        })
      )?.id ??
      (
        await tx.customer.create({
          data: { id: newId("cus"), email: guestEmail, has_account: false },
          select: { id: true },
        })
      ).id;
  }

  let shippingAddressId: string | null = null;
  if (order.shipping_address) {
    const { id: addressId = `addr_${suffix}_shipping`, ...address } = order.shipping_address;
    const fields = { ...address, country_code: address.country_code?.toLowerCase() };
    await guard(`${where}.shipping_address`, () =>
      tx.address.upsert({ where: { id: addressId }, create: { id: addressId, ...fields }, update: fields }),
    );
    shippingAddressId = addressId;
  }

  const status = order.status ?? OrderStatus.pending;
  const fields = {
    display_id: order.display_id,
    email: order.email.trim(),
    customer_id: customerId,
    status,
    fulfillment_status: order.fulfillment_status ?? FulfillmentStatus.not_fulfilled,
    payment_status: order.payment_status ?? PaymentStatus.not_paid,
    currency_code: (order.currency_code ?? "usd").toLowerCase(),
    cart_id: order.cart_id ?? null,
    region_id: order.region_id ?? null,
    shipping_address_id: shippingAddressId,
    canceled_at: status === OrderStatus.canceled ? new Date(order.created_at ?? Date.now()) : null,
    ...(order.created_at ? { created_at: new Date(order.created_at) } : {}),
  };
  await guard(where, () => tx.order.upsert({ where: { id }, create: { id, ...fields }, update: fields }));

  // The file's items replace the order's, under stable ids, so a re-run leaves the same rows.
  const items = (order.items ?? []).map((item, i) => ({
    ...item,
    id: item.id ?? `item_${suffix}_${i + 1}`,
    order_id: id,
  }));
  await tx.lineItem.deleteMany({ where: { order_id: id, id: { notIn: items.map((item) => item.id) } } });
  for (const [i, { id: itemId, ...item }] of items.entries()) {
    await guard(`${where}.items[${i}]`, () =>
      tx.lineItem.upsert({ where: { id: itemId }, create: { id: itemId, ...item }, update: item }),
    );
  }
}

/** Turns a constraint violation into a message that names the entry. */
async function guard<T>(where: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      const target = JSON.stringify(error.meta?.target ?? error.meta?.driverAdapterError ?? "a unique field");
      throw new SeedError(`${where}: conflicts with an existing row on ${target}`);
    }
    throw error;
  }
}
