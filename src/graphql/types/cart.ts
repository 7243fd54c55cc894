import type { Address as AddressRow, LineItem as LineItemRow } from "../../db/generated/prisma/client";
import {
  AddressNotInRegionError,
  CartCompletedError,
  DiscountNotApplicableError,
  InvalidInputError,
  OutOfStockError,
  StoreNotConnectedError,
  StoreNotFoundError,
  StoreRejectedError,
  StoreUnavailableError,
} from "../../domain/errors";
import type { MedusaCart, MedusaLineItem, MedusaPaymentSession, MedusaShippingMethod } from "../../store/medusa-types";
import type { PricedShippingOption } from "../../services/storefront";
import { builder } from "../builder";
import { Money, Region } from "./catalog";
import { AddressType, LineItemType } from "./order";

const ShippingOption = builder.objectRef<PricedShippingOption>("ShippingOption").implement({
  description: "A way to ship the cart, with its price for this cart.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    price: t.field({
      type: Money,
      nullable: true,
      description: "Its price for this cart, before taxes; null when the option's price is calculated at fulfillment.",
      resolve: (option) =>
        option.amount === null ? null : { amount: option.amount, currencyCode: option.currencyCode },
    }),
  }),
});

const ShippingMethod = builder.objectRef<MedusaShippingMethod>("ShippingMethod").implement({
  description: "A shipping option chosen for the cart.",
  fields: (t) => ({
    id: t.exposeID("id"),
    optionId: t.exposeID("shipping_option_id"),
    name: t.string({ nullable: true, resolve: (method) => method.shipping_option?.name ?? null }),
    price: t.exposeInt("price", { description: "In the cart's currency's minor unit, before taxes." }),
  }),
});

const PaymentSession = builder.objectRef<MedusaPaymentSession>("PaymentSession").implement({
  description: "A payment provider's session for the cart (`initializePayment` opens one per provider of the region).",
  fields: (t) => ({
    id: t.exposeID("id"),
    providerId: t.exposeString("provider_id"),
    status: t.exposeString("status", { description: "Medusa's: pending, authorized, requires_more, error, canceled." }),
    isSelected: t.boolean({ resolve: (session) => session.is_selected === true }),
  }),
});

/** Lines in the order they were added (Medusa sends them in no set order); ids break ties. */
const oldestFirst = (a: MedusaLineItem, b: MedusaLineItem) =>
  a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);

const amount = (description: string) => ({ description: `${description} In the cart's currency's minor unit.` });

const Cart = builder.objectRef<MedusaCart>("Cart").implement({
  description:
    "A cart, as Medusa computes it (totals, taxes, discounts): read fresh from Medusa, never cached. A cart that " +
    "belongs to a customer account is only ever served to that customer.",
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email", { nullable: true }),
    region: t.field({ type: Region, resolve: (cart) => cart.region }),
    currencyCode: t.string({ resolve: (cart) => cart.region.currency_code }),
    items: t.field({
      type: [LineItemType],
      description: "The cart's lines, oldest first.",
      // A Medusa line has the columns of an order's line (the LineItem type reads them), and its variant,
      // whose price without a region is the cart's region's.
      resolve: (cart) =>
        [...cart.items].sort(oldestFirst).map(
          (item) =>
            ({
              ...item,
              variant: item.variant && { ...item.variant, regionId: cart.region_id },
            }) as unknown as LineItemRow,
        ),
    }),
    subtotal: t.exposeInt("subtotal", amount("The lines before discounts, taxes and shipping.")),
    discountTotal: t.exposeInt("discount_total", amount("Taken off by discounts.")),
    shippingTotal: t.exposeInt("shipping_total", amount("Shipping, before taxes.")),
    taxTotal: t.exposeInt("tax_total", amount("Taxes on lines and shipping.")),
    total: t.exposeInt("total", amount("What the customer pays.")),
    shippingAddress: t.field({
      type: AddressType,
      nullable: true,
      resolve: (cart) => cart.shipping_address as unknown as AddressRow | null,
    }),
    billingAddress: t.field({
      type: AddressType,
      nullable: true,
      resolve: (cart) => cart.billing_address as unknown as AddressRow | null,
    }),
    shippingMethods: t.field({ type: [ShippingMethod], resolve: (cart) => cart.shipping_methods }),
    paymentSessions: t.field({ type: [PaymentSession], resolve: (cart) => cart.payment_sessions }),
    discountCodes: t.stringList({ resolve: (cart) => cart.discounts.map((discount) => discount.code) }),
    completedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the checkout completed (the cart became an order).",
      resolve: (cart) => (cart.completed_at ? new Date(cart.completed_at) : null),
    }),
  }),
});

const CartLineInput = builder.inputType("CartLineInput", {
  fields: (t) => ({
    variantId: t.id({ required: true }),
    quantity: t.int({ required: true }),
  }),
});

const CreateCartInput = builder.inputType("CreateCartInput", {
  fields: (t) => ({
    regionId: t.id({ required: true }),
    email: t.string({ description: "A guest's email; a signed-in customer's cart takes theirs." }),
    items: t.field({ type: [CartLineInput] }),
  }),
});

const AddressInput = builder.inputType("AddressInput", {
  fields: (t) => ({
    firstName: t.string(),
    lastName: t.string(),
    company: t.string(),
    address1: t.string(),
    address2: t.string(),
    city: t.string(),
    province: t.string(),
    postalCode: t.string(),
    countryCode: t.string({ description: "ISO 3166-1 alpha-2 (dk); it must be a country of the cart's region." }),
    phone: t.string(),
  }),
});

const UpdateCartInput = builder.inputType("UpdateCartInput", {
  description: "What to change; fields left out stay as they are.",
  fields: (t) => ({
    email: t.string(),
    shippingAddress: t.field({ type: AddressInput }),
    billingAddress: t.field({ type: AddressInput }),
    regionId: t.id({ description: "Moves the cart to another region: its prices and shipping change with it." }),
    discountCode: t.string({ description: "A discount code to apply." }),
  }),
});

/** Every way a cart operation can fail that a storefront handles. */
const CART_ERRORS = [
  InvalidInputError,
  StoreNotConnectedError,
  StoreUnavailableError,
  StoreNotFoundError,
  OutOfStockError,
  AddressNotInRegionError,
  DiscountNotApplicableError,
  CartCompletedError,
  StoreRejectedError,
];

const cartErrors = {
  types: CART_ERRORS,
  union: { name: "CartResult" },
  // The plugin builds the union once per result name: every cart mutation gets the same one.
  result: { name: "CartSuccess" },
  directResult: true as const,
};

const CartSuccess = builder.objectRef<{ cart: MedusaCart }>("CartSuccess").implement({
  description: "The cart after the change, as Medusa computed it.",
  fields: (t) => ({ cart: t.field({ type: Cart, resolve: ({ cart }) => cart }) }),
});

const CompleteCartSuccess = builder.objectRef<{ orderId: string }>("CompleteCartSuccess").implement({
  description: "The checkout completed: Medusa made the order.",
  fields: (t) => ({
    order: t.prismaField({
      type: "Order",
      description: "The order, like any other: `me { orders }` lists it for its customer, `orderLookup` finds it.",
      resolve: (query, { orderId }, _args, ctx) => ctx.orders.placedOrder(orderId, query),
    }),
  }),
});

const id = (value: string | number) => String(value);

builder.queryFields((t) => ({
  cart: t.field({
    type: Cart,
    nullable: true,
    description:
      "A cart by id; null if Medusa has none, or if it belongs to a customer account other than yours. Errors as " +
      "the catalog's (STORE_NOT_CONNECTED, STORE_UNAVAILABLE).",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.store.cart(id(args.id)),
  }),
  shippingOptions: t.field({
    type: [ShippingOption],
    description: "The ways the cart can be shipped (it needs a shipping address in its region for most stores).",
    args: { cartId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.store.shippingOptions(id(args.cartId)),
  }),
}));

builder.mutationFields((t) => ({
  createCart: t.field({
    type: CartSuccess,
    description: "A new cart in a region, with lines if given. Signed in, the cart is yours in Medusa.",
    args: { input: t.arg({ type: CreateCartInput, required: true }) },
    errors: cartErrors,
    resolve: async (_root, { input }, ctx) => ({
      cart: await ctx.store.createCart({
        regionId: id(input.regionId),
        email: input.email,
        items: input.items?.map((item) => ({ variantId: id(item.variantId), quantity: item.quantity })),
      }),
    }),
  }),
  addCartLine: t.field({
    type: CartSuccess,
    description: "Adds a variant to the cart (Medusa merges it into a line of the same variant).",
    args: {
      cartId: t.arg.id({ required: true }),
      variantId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true }),
    },
    errors: cartErrors,
    resolve: async (_root, args, ctx) => ({
      cart: await ctx.store.addLine(id(args.cartId), id(args.variantId), args.quantity),
    }),
  }),
  updateCartLine: t.field({
    type: CartSuccess,
    description: "Sets a line's quantity; 0 removes the line.",
    args: {
      cartId: t.arg.id({ required: true }),
      lineId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true }),
    },
    errors: cartErrors,
    resolve: async (_root, args, ctx) => ({
      cart: await ctx.store.updateLine(id(args.cartId), id(args.lineId), args.quantity),
    }),
  }),
  removeCartLine: t.field({
    type: CartSuccess,
    args: { cartId: t.arg.id({ required: true }), lineId: t.arg.id({ required: true }) },
    errors: cartErrors,
    resolve: async (_root, args, ctx) => ({ cart: await ctx.store.removeLine(id(args.cartId), id(args.lineId)) }),
  }),
  updateCart: t.field({
    type: CartSuccess,
    description: "Sets the cart's email, addresses, region or a discount code.",
    args: { cartId: t.arg.id({ required: true }), input: t.arg({ type: UpdateCartInput, required: true }) },
    errors: cartErrors,
    resolve: async (_root, { cartId, input }, ctx) => ({
      cart: await ctx.store.updateCart(id(cartId), {
        ...input,
        regionId: input.regionId === null || input.regionId === undefined ? undefined : id(input.regionId),
      }),
    }),
  }),
  addShippingMethod: t.field({
    type: CartSuccess,
    description: "Chooses one of `shippingOptions(cartId)`.",
    args: { cartId: t.arg.id({ required: true }), optionId: t.arg.id({ required: true }) },
    errors: cartErrors,
    resolve: async (_root, args, ctx) => ({
      cart: await ctx.store.addShippingMethod(id(args.cartId), id(args.optionId)),
    }),
  }),
  initializePayment: t.field({
    type: CartSuccess,
    description: "Opens a payment session with each payment provider of the cart's region (Medusa's payment sessions).",
    args: { cartId: t.arg.id({ required: true }) },
    errors: cartErrors,
    resolve: async (_root, args, ctx) => ({ cart: await ctx.store.initializePayment(id(args.cartId)) }),
  }),
  selectPaymentProvider: t.field({
    type: CartSuccess,
    description: "Chooses the payment session of one provider (`manual`, `stripe`, ...).",
    args: { cartId: t.arg.id({ required: true }), providerId: t.arg.id({ required: true }) },
    errors: cartErrors,
    resolve: async (_root, args, ctx) => ({
      cart: await ctx.store.selectPaymentProvider(id(args.cartId), id(args.providerId)),
    }),
  }),
  completeCart: t.field({
    type: CompleteCartSuccess,
    description:
      "Completes the checkout: Medusa authorizes the payment and makes the order. Completing a completed cart " +
      "gives its order again.",
    args: { cartId: t.arg.id({ required: true }) },
    errors: { types: CART_ERRORS, union: { name: "CompleteCartResult" }, directResult: true },
    resolve: async (_root, args, ctx) => ({ orderId: await ctx.store.completeCart(id(args.cartId)) }),
  }),
}));
