import type { Address, Customer, LineItem, Order } from "../db/generated/prisma/client";
import { MedusaError } from "./errors";
import { serializeCustomer } from "./serializers";

/**
 * Medusa v1's order projection for the Store API (`fields` / `expand`, default fields and
 * relations, computed totals), over the part of Medusa's order that ordergate keeps.
 */

/** Medusa's default store order fields (`store/orders/index.ts`). */
const DEFAULT_FIELDS = [
  "id", "status", "fulfillment_status", "payment_status", "display_id", "cart_id", "customer_id",
  "email", "region_id", "currency_code", "tax_rate", "created_at",
] as const; // prettier-ignore

/** The fields Medusa allows on single store orders (`GET /store/orders`, `/store/orders/:id`). */
const STORE_FIELDS = new Set<string>(DEFAULT_FIELDS);

/** The order's own columns a caller may ask for with `fields` where Medusa allows any. */
const COLUMNS = new Set<string>([
  ...DEFAULT_FIELDS, "updated_at", "canceled_at", "metadata", "no_notification", "external_id", "sales_channel_id",
  "billing_address_id", "shipping_address_id", "idempotency_key",
]); // prettier-ignore

/**
 * Totals Medusa computes, in minor units; ordergate keeps no shipping, discounts, payments or gift
 * cards, so those are 0.
 */
const TOTALS = [
  "subtotal", "shipping_total", "discount_total", "tax_total", "refunded_total", "total", "paid_total",
  "refundable_amount", "gift_card_total", "gift_card_tax_total",
] as const; // prettier-ignore

/** Medusa's default relations. Those ordergate does not keep come back empty (`[]` or `null`). */
const DEFAULT_RELATIONS = [
  "shipping_address", "fulfillments", "fulfillments.tracking_links", "items", "items.variant", "shipping_methods",
  "shipping_methods.shipping_option", "discounts", "discounts.rule", "customer", "payments", "region",
] as const; // prettier-ignore
const RELATIONS = new Set<string>([...DEFAULT_RELATIONS, "billing_address"]);
const EMPTY_LIST_RELATIONS = ["fulfillments", "shipping_methods", "discounts", "payments"];
const EMPTY_ONE_RELATIONS = ["region", "billing_address"];

export interface OrderProjection {
  fields: Set<string>;
  relations: Set<string>;
  /** For Prisma: what to load with each order. */
  include: { items: boolean | { orderBy: object[] }; shipping_address: boolean; customer: boolean };
}

type LoadedOrder = Order & { items?: LineItem[]; shipping_address?: Address | null; customer?: Customer };

const list = (value: unknown): string[] | undefined =>
  typeof value === "string"
    ? value
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean)
    : undefined;

/**
 * Reads `fields` and `expand` as Medusa does: `fields` without `+`/`-` prefixes replaces the
 * defaults (`id` always stays; `created_at` too on lists); `expand` replaces the default relations.
 * Unknown names are a 400 naming them. `anyColumn`: any of the order's columns may be asked for
 * (Medusa's customer order list); otherwise only Medusa's allowed store fields (single orders).
 */
export function orderProjection(
  query: { fields?: unknown; expand?: unknown },
  options: { list: boolean; anyColumn: boolean },
): OrderProjection {
  const fieldList = list(query.fields);
  const expandList = list(query.expand);
  let fields = new Set<string>([...DEFAULT_FIELDS, ...TOTALS]);
  if (fieldList) {
    const replaces = fieldList.some((entry) => !entry.startsWith("+") && !entry.startsWith("-"));
    if (replaces) fields = new Set();
    for (const entry of fieldList) {
      const name = entry.replace(/^[+-]/, "");
      if (entry.startsWith("-")) fields.delete(name);
      else fields.add(name);
    }
    fields.add("id");
    if (options.list) fields.add("created_at");
  }
  const relations = new Set<string>(expandList ?? DEFAULT_RELATIONS);
  const unknown = [
    ...[...fields].filter(
      (name) =>
        !(options.anyColumn ? COLUMNS : STORE_FIELDS).has(name) && !(TOTALS as readonly string[]).includes(name),
    ),
    ...[...relations].filter((name) => !RELATIONS.has(name)),
  ];
  if (unknown.length > 0)
    throw new MedusaError("invalid_data", `Requested fields [${unknown.join(", ")}] are not valid`);
  const needsItems = relations.has("items") || [...fields].some((name) => (TOTALS as readonly string[]).includes(name));
  return {
    fields,
    relations,
    include: {
      items: needsItems ? { orderBy: [{ created_at: "asc" }, { id: "asc" }] } : false,
      shipping_address: relations.has("shipping_address"),
      customer: relations.has("customer"),
    },
  };
}

function totals(order: LoadedOrder): Record<(typeof TOTALS)[number], number> {
  const subtotal = (order.items ?? []).reduce((sum, item) => sum + item.unit_price * item.quantity, 0);
  const taxTotal = Math.round((subtotal * (order.tax_rate ?? 0)) / 100);
  return {
    subtotal,
    shipping_total: 0,
    discount_total: 0,
    tax_total: taxTotal,
    refunded_total: 0,
    total: subtotal + taxTotal,
    paid_total: 0,
    refundable_amount: 0,
    gift_card_total: 0,
    gift_card_tax_total: 0,
  };
}

function lineItem(item: LineItem, withVariant: boolean) {
  const subtotal = item.unit_price * item.quantity;
  return { ...item, ...(withVariant ? { variant: null } : {}), subtotal, total: subtotal };
}

/** The order as Medusa's Store API shows it, limited to the projection. */
export function toMedusaOrder(order: LoadedOrder, projection: OrderProjection): Record<string, unknown> {
  const out: Record<string, unknown> = { object: "order" };
  const computed = totals(order);
  for (const field of projection.fields) {
    out[field] =
      field in computed ? computed[field as keyof typeof computed] : (order as Record<string, unknown>)[field];
  }
  const { relations } = projection;
  if (relations.has("items"))
    out.items = (order.items ?? []).map((item) => lineItem(item, relations.has("items.variant")));
  if (relations.has("shipping_address")) out.shipping_address = order.shipping_address ?? null;
  if (relations.has("customer")) out.customer = order.customer ? serializeCustomer(order.customer) : null;
  for (const name of EMPTY_LIST_RELATIONS) if (relations.has(name)) out[name] = [];
  for (const name of EMPTY_ONE_RELATIONS) if (relations.has(name)) out[name] = null;
  return out;
}
