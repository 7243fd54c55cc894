import { builder } from "../builder";
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
      query: ({ status }) => ({
        where: status && status.length > 0 ? { status: { in: status } } : {},
        orderBy: [{ created_at: "desc" }, { id: "desc" }],
      }),
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
