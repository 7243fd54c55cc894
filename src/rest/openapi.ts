import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { OrderClaimStatus } from "../db/generated/prisma/enums";
import { credentials } from "./auth";
import { ordersQuery, registration } from "./customers";
import { lookupQuery, projection } from "./order-reads";
import { claimByEmailRequest, claimRequest, claimsQuery, confirmRequest, declineRequest } from "./orders";

/**
 * The Store API's OpenAPI 3.1 document, generated from the zod schemas the routes validate with
 * (requests) and the schemas of what they send (responses), with Medusa v1's operationIds. Routes
 * of ordergate's own (not in Medusa v1) carry `x-ordergate-extension: true` and the tag
 * EXTENSION_TAG.
 */

/** The tag of every route Medusa v1 does not have. */
export const EXTENSION_TAG = "ordergate extensions";

const timestamp = z.string().describe("ISO 8601");
const json = z.unknown();

/** Medusa's error body. */
export const ErrorBody = z.object({ type: z.string(), message: z.string(), code: z.string().optional() });

/** Medusa's customer, never with a password hash. */
export const CustomerSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    phone: z.string().nullable(),
    billing_address_id: z.string().nullable(),
    has_account: z.boolean(),
    created_at: timestamp,
    updated_at: timestamp,
    deleted_at: timestamp.nullable(),
    metadata: json.nullable(),
  })
  .strict();

const AddressSchema = z
  .object({ id: z.string(), city: z.string().nullable(), country_code: z.string().nullable() })
  .passthrough();
const LineItemSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    unit_price: z.number().int(),
    quantity: z.number().int(),
    subtotal: z.number().int(),
    total: z.number().int(),
  })
  .passthrough();

/** Medusa's order; which fields and relations are present follows `fields` and `expand`. */
export const OrderSchema = z
  .object({
    object: z.literal("order"),
    id: z.string(),
    status: z.enum(["pending", "completed", "archived", "canceled", "requires_action"]).optional(),
    fulfillment_status: z.string().optional(),
    payment_status: z.string().optional(),
    display_id: z.number().int().optional(),
    cart_id: z.string().nullable().optional(),
    customer_id: z.string().optional(),
    email: z.string().optional(),
    region_id: z.string().nullable().optional(),
    currency_code: z.string().optional(),
    tax_rate: z.number().nullable().optional(),
    created_at: timestamp.optional(),
    subtotal: z.number().int().optional(),
    total: z.number().int().optional(),
    items: z.array(LineItemSchema).optional(),
    shipping_address: AddressSchema.nullable().optional(),
    customer: CustomerSchema.nullable().optional(),
  })
  .passthrough();

const Empty = z.object({}).strict();
const CustomerRes = z.object({ customer: CustomerSchema }).strict();
const OrderRes = z.object({ order: OrderSchema }).strict();
const OrdersListRes = z
  .object({ orders: z.array(OrderSchema), count: z.number().int(), offset: z.number().int(), limit: z.number().int() })
  .strict();

const CLAIM_STATUSES = Object.values(OrderClaimStatus).map((status) => status.toLowerCase()) as [string, ...string[]];

/** A claim in `GET /store/customers/me/order-claims`: no token, and no order detail before it is verified. */
export const OrderClaimSchema = z
  .object({
    id: z.string(),
    status: z.enum(CLAIM_STATUSES),
    recipient_email: z.string().describe("Where the token was sent, masked: `j***@example.com`"),
    by_email: z.boolean().describe("Opened by naming an address (claim by email) rather than orders"),
    order_count: z.number().int().nullable().describe("null for a claim by email until it is verified"),
    order_ids: z.array(z.string()).describe("Empty until the claim is verified; then the orders it moved"),
    created_at: timestamp,
    expires_at: timestamp,
    verified_at: timestamp.nullable(),
  })
  .strict();
const OrderClaimsListRes = z
  .object({
    order_claims: z.array(OrderClaimSchema),
    count: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
  })
  .strict();

type Method = "get" | "post" | "delete";
interface Operation {
  method: Method;
  /** OpenAPI path (`{id}`); Express writes `:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** ordergate's own route: Medusa v1 has none like it. */
  extension?: true;
  auth: boolean;
  body?: z.ZodRawShape;
  query?: z.ZodRawShape;
  params?: z.ZodRawShape;
  /** Status → schema of the body sent with it. */
  responses: Record<number, z.ZodType>;
}

const invalid = { 400: ErrorBody };
const unauthorized = { 401: ErrorBody };
/** A rate limit's refusal (Medusa v1 has none): `not_allowed`, code `rate_limited`, with `Retry-After`. */
const rateLimited = { 429: ErrorBody };

/** Every Store route ordergate answers itself. */
export const OPERATIONS: Operation[] = [
  {
    method: "post",
    path: "/store/orders/batch/customer/token",
    operationId: "PostOrdersCustomerOrderClaim",
    summary: "Claim Order",
    auth: true,
    body: claimRequest,
    responses: { 200: Empty, ...invalid, ...unauthorized, ...rateLimited },
  },
  {
    method: "post",
    path: "/store/orders/customer/confirm",
    operationId: "PostOrdersCustomerOrderClaimsCustomerOrderClaimAccept",
    summary: "Verify Order Claim",
    auth: false,
    body: confirmRequest,
    responses: { 200: Empty, ...invalid, ...rateLimited },
  },
  {
    method: "post",
    path: "/store/customers/me/order-claims",
    operationId: "PostCustomersCustomerOrderClaims",
    summary: "Claim Orders by Email",
    description:
      "Opens one claim of every claimable order placed under `email` (guest orders, not canceled, in no account; " +
      "the newest CLAIM_MAX_ORDERS) for the signed-in customer, who needs no order id. The answer is the same " +
      "`{}` whether or not the address has any: the email, with the one-time token and the orders' numbers, goes " +
      "out only when it has. Replaces the customer's pending claims to the same address. Emails are compared " +
      "trimmed and lower-cased by Unicode's rules. 400 `email must be an email`; 429 when the customer's claim " +
      "requests or the address's claim emails are used up (taken whether or not the address has orders).",
    extension: true,
    auth: true,
    body: claimByEmailRequest,
    responses: { 200: Empty, ...invalid, ...unauthorized, ...rateLimited },
  },
  {
    method: "post",
    path: "/store/orders/customer/decline",
    operationId: "PostOrdersCustomerOrderClaimsCustomerOrderClaimDecline",
    summary: "Decline Order Claim",
    description:
      "Declines a claim with the emailed token (no sign-in: the token is the proof); its orders stay where they " +
      "are. A token works once, for either Verify Order Claim or this: a used one is 400 `The claim token has " +
      "already been used.`; also 400 for an invalid or expired token. Counts against the same per-client-address " +
      "limit as Verify Order Claim.",
    extension: true,
    auth: false,
    body: declineRequest,
    responses: { 200: Empty, ...invalid, ...rateLimited },
  },
  {
    method: "get",
    path: "/store/customers/me/order-claims",
    operationId: "GetCustomersCustomerOrderClaims",
    summary: "List Order Claims",
    description:
      "The signed-in customer's claims, newest first, optionally of some statuses (`status[]=pending`). The " +
      "recipient is masked; `order_ids` stays empty until a claim is verified, and `order_count` is null for a " +
      "claim by email until then.",
    extension: true,
    auth: true,
    query: claimsQuery,
    responses: { 200: OrderClaimsListRes, ...invalid, ...unauthorized },
  },
  {
    method: "delete",
    path: "/store/customers/me/order-claims/{id}",
    operationId: "DeleteCustomersCustomerOrderClaimsClaim",
    summary: "Cancel an Order Claim",
    description:
      "Withdraws one of the signed-in customer's pending claims: it becomes canceled and its token works no more. " +
      "Canceling a canceled claim answers 200 again. Someone else's claim, like an unknown id, is 404 " +
      "`No claim of yours has this id.`; a claim that ended otherwise is 400 `not_allowed` naming its status.",
    extension: true,
    auth: true,
    params: { id: z.string() },
    responses: { 200: Empty, 400: ErrorBody, ...unauthorized, 404: ErrorBody },
  },
  {
    method: "get",
    path: "/store/orders",
    operationId: "GetOrders",
    summary: "Look Up an Order",
    auth: false,
    query: lookupQuery,
    responses: { 200: OrderRes, ...invalid, 404: ErrorBody, ...rateLimited },
  },
  {
    method: "get",
    path: "/store/orders/cart/{cart_id}",
    operationId: "GetOrdersOrderCartId",
    summary: "Get by Cart ID",
    auth: false,
    params: { cart_id: z.string() },
    query: projection,
    responses: { 200: OrderRes, ...invalid, 404: ErrorBody },
  },
  {
    method: "get",
    path: "/store/orders/{id}",
    operationId: "GetOrdersOrder",
    summary: "Get an Order",
    auth: false,
    params: { id: z.string() },
    query: projection,
    responses: { 200: OrderRes, ...invalid, 404: ErrorBody },
  },
  {
    method: "post",
    path: "/store/customers",
    operationId: "PostCustomers",
    summary: "Create a Customer",
    auth: false,
    body: registration,
    responses: { 200: CustomerRes, ...invalid, 422: ErrorBody, ...rateLimited },
  },
  {
    method: "get",
    path: "/store/customers/me",
    operationId: "GetCustomersCustomer",
    summary: "Get a Customer",
    auth: true,
    responses: { 200: CustomerRes, ...unauthorized },
  },
  {
    method: "get",
    path: "/store/customers/me/orders",
    operationId: "GetCustomersCustomerOrders",
    summary: "List Orders",
    auth: true,
    query: ordersQuery,
    responses: { 200: OrdersListRes, ...invalid, ...unauthorized },
  },
  {
    method: "post",
    path: "/store/auth",
    operationId: "PostAuth",
    summary: "Customer Login",
    auth: false,
    body: credentials,
    responses: { 200: CustomerRes, ...invalid, ...unauthorized, ...rateLimited },
  },
  {
    method: "post",
    path: "/store/auth/token",
    operationId: "PostToken",
    summary: "Customer Login (JWT)",
    auth: false,
    body: credentials,
    responses: { 200: z.object({ access_token: z.string() }).strict(), ...invalid, ...unauthorized, ...rateLimited },
  },
  {
    method: "get",
    path: "/store/auth",
    operationId: "GetAuth",
    summary: "Get Current Customer",
    auth: true,
    responses: { 200: CustomerRes, ...unauthorized },
  },
  {
    method: "delete",
    path: "/store/auth",
    operationId: "DeleteAuth",
    summary: "Customer Log out",
    auth: false,
    responses: { 200: Empty },
  },
  {
    method: "get",
    path: "/store/auth/{email}",
    operationId: "GetAuthEmail",
    summary: "Check if Email Exists",
    auth: false,
    params: { email: z.string() },
    responses: { 200: z.object({ exists: z.boolean() }).strict(), ...rateLimited },
  },
];

/** The documented body schema of one route's answer, for tests that hold routes to their documentation. */
export function documentedResponse(method: Method, path: string, status: number): z.ZodType | undefined {
  return OPERATIONS.find((op) => op.method === method && op.path === path)?.responses[status];
}

/** The header a 429 carries. */
const RETRY_AFTER = {
  description: "Seconds until the limit lets the request through",
  schema: { type: "integer" as const },
};

let document: object | undefined;

export function openApiDocument(): object {
  if (document) return document;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent("securitySchemes", "jwt_token", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  const cookie = registry.registerComponent("securitySchemes", "cookie_auth", {
    type: "apiKey",
    in: "cookie",
    name: "connect.sid",
  });
  for (const op of OPERATIONS) {
    registry.registerPath({
      method: op.method,
      path: op.path,
      operationId: op.operationId,
      summary: op.summary,
      ...(op.extension
        ? {
            tags: [EXTENSION_TAG],
            description: `Not in Medusa v1: ordergate's own route. ${op.description ?? ""}`.trimEnd(),
            "x-ordergate-extension": true,
          }
        : op.description
          ? { description: op.description }
          : {}),
      security: op.auth ? [{ [bearer.name]: [] }, { [cookie.name]: [] }] : [],
      request: {
        ...(op.body ? { body: { content: { "application/json": { schema: z.object(op.body) } } } } : {}),
        ...(op.query ? { query: z.object(op.query) } : {}),
        ...(op.params ? { params: z.object(op.params) } : {}),
      },
      responses: Object.fromEntries(
        Object.entries(op.responses).map(([status, schema]) => [
          status,
          {
            description: Number(status) < 400 ? "OK" : "Medusa's error body",
            ...(Number(status) === 429 ? { headers: { "Retry-After": RETRY_AFTER } } : {}),
            content: { "application/json": { schema } },
          },
        ]),
      ),
    });
  }
  document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: { title: "ordergate Store API (Medusa v1 compatible)", version: "1" },
    tags: [
      {
        name: EXTENSION_TAG,
        description:
          "Routes of ordergate's own, not in Medusa v1's Store API (each has `x-ordergate-extension: true`).",
      },
    ],
  });
  return document;
}
