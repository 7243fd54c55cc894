import { FulfillmentStatus, OrderStatus, PaymentStatus } from "../../db/generated/prisma/enums";
import type { StoreVariant } from "../../services/storefront";
import { builder, medusaEnum } from "../builder";
import { ProductVariant } from "./catalog";

export const OrderStatusEnum = medusaEnum("OrderStatus", Object.values(OrderStatus), "Medusa's order status.");
const FulfillmentStatusEnum = medusaEnum(
  "FulfillmentStatus",
  Object.values(FulfillmentStatus),
  "Medusa's fulfillment status.",
);
const PaymentStatusEnum = medusaEnum("PaymentStatus", Object.values(PaymentStatus), "Medusa's payment status.");

builder.prismaObject("Order", {
  description: "An order. Amounts are integers in the currency's minor unit (cents).",
  fields: (t) => ({
    id: t.exposeID("id"),
    displayId: t.exposeInt("display_id", { description: "The order number customers see." }),
    status: t.expose("status", { type: OrderStatusEnum }),
    fulfillmentStatus: t.expose("fulfillment_status", { type: FulfillmentStatusEnum }),
    paymentStatus: t.expose("payment_status", { type: PaymentStatusEnum }),
    email: t.exposeString("email"),
    currencyCode: t.exposeString("currency_code"),
    createdAt: t.expose("created_at", { type: "DateTime" }),
    items: t.relation("items", { query: { orderBy: [{ created_at: "asc" }, { id: "asc" }] } }),
    shippingAddress: t.relation("shipping_address", { nullable: true }),
    subtotal: t.int({
      description: "Sum of unit price times quantity over the items.",
      select: { items: { select: { unit_price: true, quantity: true } } },
      resolve: (order) => order.items.reduce((sum, item) => sum + item.unit_price * item.quantity, 0),
    }),
  }),
});

/**
 * An order's line (a row of Medusa's `line_item`) or a cart's (Medusa's answer has the same columns,
 * and also its variant and its computed total).
 */
export const LineItemType = builder.prismaObject("LineItem", {
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    description: t.exposeString("description", { nullable: true }),
    thumbnail: t.exposeString("thumbnail", { nullable: true }),
    unitPrice: t.exposeInt("unit_price"),
    quantity: t.exposeInt("quantity"),
    total: t.int({
      description:
        "A cart's line: after discounts and taxes, as Medusa computes it. An order's: unit price times quantity.",
      resolve: (item) => (item as { total?: number }).total ?? item.unit_price * item.quantity,
    }),
    variant: t.field({
      type: ProductVariant,
      nullable: true,
      description: "The product variant (a cart's lines; null on an order's).",
      resolve: (item) => (item as { variant?: StoreVariant | null }).variant ?? null,
    }),
  }),
});

export const AddressType = builder.prismaObject("Address", {
  fields: (t) => ({
    id: t.exposeID("id"),
    firstName: t.exposeString("first_name", { nullable: true }),
    lastName: t.exposeString("last_name", { nullable: true }),
    company: t.exposeString("company", { nullable: true }),
    address1: t.exposeString("address_1", { nullable: true }),
    address2: t.exposeString("address_2", { nullable: true }),
    city: t.exposeString("city", { nullable: true }),
    province: t.exposeString("province", { nullable: true }),
    postalCode: t.exposeString("postal_code", { nullable: true }),
    countryCode: t.exposeString("country_code", { nullable: true }),
    phone: t.exposeString("phone", { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  order: t.prismaField({
    type: "Order",
    nullable: true,
    description: "One of the signed-in customer's orders; null for anyone else's or an unknown id.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.viewer ? ctx.orders.findOwn(ctx.viewer.customerId, String(id), query) : null,
  }),
  orderLookup: t.prismaField({
    type: "Order",
    nullable: true,
    description:
      "Guest lookup, as Medusa's `GET /store/orders`: the order with this number placed under this email (equal once " +
      "trimmed and lower-cased; never a pattern), if exactly one. " +
      "Each lookup counts against a limit per client address (RATE_LIMIT_LOOKUP_IP).",
    args: { displayId: t.arg.int({ required: true }), email: t.arg.string({ required: true }) },
    resolve: (query, _root, { displayId, email }, ctx) => ctx.orders.lookUp(displayId, email, ctx.clientIp, query),
  }),
}));
