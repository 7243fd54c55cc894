import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { credentials } from "./auth";
import { ordersQuery, registration } from "./customers";
import { lookupQuery, projection } from "./order-reads";
import { claimRequest, confirmRequest } from "./orders";

/**
 * The Store API's OpenAPI 3.1 document, generated from the zod schemas the routes validate with
 * (requests) and the schemas of what they send (responses), with Medusa v1's operationIds.
 */

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

type Method = "get" | "post" | "delete";
interface Operation {
  method: Method;
  /** OpenAPI path (`{id}`); Express writes `:id`. */
  path: string;
  operationId: string;
  summary: string;
  auth: boolean;
  body?: z.ZodRawShape;
  query?: z.ZodRawShape;
  params?: z.ZodRawShape;
  /** Status → schema of the body sent with it. */
  responses: Record<number, z.ZodType>;
}

const invalid = { 400: ErrorBody };
const unauthorized = { 401: ErrorBody };

/** Every Store route ordergate answers itself. */
export const OPERATIONS: Operation[] = [
  {
    method: "post",
    path: "/store/orders/batch/customer/token",
    operationId: "PostOrdersCustomerOrderClaim",
    summary: "Claim Order",
    auth: true,
    body: claimRequest,
    responses: { 200: Empty, ...invalid, ...unauthorized },
  },
  {
    method: "post",
    path: "/store/orders/customer/confirm",
    operationId: "PostOrdersCustomerOrderClaimsCustomerOrderClaimAccept",
    summary: "Verify Order Claim",
    auth: false,
    body: confirmRequest,
    responses: { 200: Empty, ...invalid },
  },
  {
    method: "get",
    path: "/store/orders",
    operationId: "GetOrders",
    summary: "Look Up an Order",
    auth: false,
    query: lookupQuery,
    responses: { 200: OrderRes, ...invalid, 404: ErrorBody },
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
    responses: { 200: CustomerRes, ...invalid, 422: ErrorBody },
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
    responses: { 200: CustomerRes, ...invalid, ...unauthorized },
  },
  {
    method: "post",
    path: "/store/auth/token",
    operationId: "PostToken",
    summary: "Customer Login (JWT)",
    auth: false,
    body: credentials,
    responses: { 200: z.object({ access_token: z.string() }).strict(), ...invalid, ...unauthorized },
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
    responses: { 200: z.object({ exists: z.boolean() }).strict() },
  },
];

/** The documented body schema of one route's answer, for tests that hold routes to their documentation. */
export function documentedResponse(method: Method, path: string, status: number): z.ZodType | undefined {
  return OPERATIONS.find((op) => op.method === method && op.path === path)?.responses[status];
}

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
            content: { "application/json": { schema } },
          },
        ]),
      ),
    });
  }
  document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: { title: "ordergate Store API (Medusa v1 compatible)", version: "1" },
  });
  return document;
}
