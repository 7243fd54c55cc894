import { EmailTakenError, InvalidCredentialsError, InvalidInputError } from "../../domain/errors";
import { builder, newestFirstWithStatus } from "../builder";
import { OrderStatusEnum } from "./order";

builder.prismaObject("Customer", {
  description: "A customer with an account. Never exposes the password hash.",
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email"),
    firstName: t.exposeString("first_name", { nullable: true }),
    lastName: t.exposeString("last_name", { nullable: true }),
    phone: t.exposeString("phone", { nullable: true }),
    createdAt: t.expose("created_at", { type: "DateTime" }),
    orders: t.relatedConnection("orders", {
      description: "The customer's orders, newest first; `status` keeps those in any of the given statuses.",
      cursor: "id",
      totalCount: true,
      args: { status: t.arg({ type: [OrderStatusEnum], required: false }) },
      query: newestFirstWithStatus,
    }),
  }),
});

builder.queryFields((t) => ({
  me: t.prismaField({
    type: "Customer",
    nullable: true,
    description:
      "The signed-in customer (a store JWT, or over HTTP the session cookie of `POST /store/auth`); null when signed " +
      "out.",
    resolve: (query, _root, _args, ctx) => (ctx.viewer ? ctx.customers.findSelf(ctx.viewer.customerId, query) : null),
  }),
}));

/** A signed-in customer and the store JWT to use as `Authorization: Bearer` (30 days, Medusa's). */
const SignedIn = builder.objectRef<{ customerId: string; token: string }>("SignedIn").implement({
  description:
    "A store JWT and the customer it signs in; send it as `Authorization: Bearer <token>` (REST, GraphQL, WebSocket).",
  fields: (t) => ({
    token: t.exposeString("token"),
    customer: t.prismaField({
      type: "Customer",
      resolve: async (query, { customerId }, _args, ctx) => (await ctx.customers.findSelf(customerId, query))!,
    }),
  }),
});

const RegisterCustomerInput = builder.inputType("RegisterCustomerInput", {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ required: true }),
    firstName: t.string({ required: true }),
    lastName: t.string({ required: true }),
    phone: t.string({ required: false }),
  }),
});

builder.mutationFields((t) => ({
  registerCustomer: t.field({
    type: SignedIn,
    description:
      "Creates a customer with an account and signs it in (Medusa's `POST /store/customers`). Orders placed earlier " +
      "as a guest " +
      "under the same email stay with the guest record until claimed.",
    args: { input: t.arg({ type: RegisterCustomerInput, required: true }) },
    errors: {
      types: [InvalidInputError, EmailTakenError],
      union: { name: "RegisterCustomerResult" },
      directResult: true,
    },
    resolve: async (_root, { input }, ctx) => {
      const customer = await ctx.customers.register(input, ctx.clientIp);
      return { customerId: customer.id, token: ctx.auth.issueStoreToken(customer.id) };
    },
  }),
  logIn: t.field({
    type: SignedIn,
    description: "Signs a customer in with email and password (Medusa's `POST /store/auth/token`).",
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    errors: { types: [InvalidCredentialsError], union: { name: "LogInResult" }, directResult: true },
    resolve: async (_root, { email, password }, ctx) => {
      const customer = await ctx.auth.authenticate(email, password, ctx.clientIp);
      return { customerId: customer.id, token: ctx.auth.issueStoreToken(customer.id) };
    },
  }),
}));
