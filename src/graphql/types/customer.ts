import { builder } from "../builder";

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
      description: "The customer's orders, newest first.",
      cursor: "id",
      totalCount: true,
      query: { orderBy: [{ created_at: "desc" }, { id: "desc" }] },
    }),
  }),
});

builder.queryFields((t) => ({
  me: t.prismaField({
    type: "Customer",
    nullable: true,
    description: "The signed-in customer; null without a valid store JWT.",
    resolve: (query, _root, _args, ctx) =>
      ctx.viewer ? ctx.customers.findSelf(ctx.viewer.customerId, query) : null,
  }),
}));
