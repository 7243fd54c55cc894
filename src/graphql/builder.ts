import SchemaBuilder from "@pothos/core";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import type PrismaTypes from "../db/generated/pothos-types";
import { getDatamodel } from "../db/generated/pothos-types";
import type { GraphQLContext } from "./context";

/** The one typed schema builder; each file in ./types adds one domain to it. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date } };
}>({
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: { client: (ctx) => ctx.prisma, dmmf: getDatamodel(), filterConnectionTotalCount: true },
  errors: { defaultTypes: [] },
  relay: { clientMutationId: "omit", cursorType: "String" },
});

builder.scalarType("DateTime", {
  description: "An instant, as an ISO 8601 string in UTC.",
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === "string" ? new Date(value) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw new TypeError("DateTime must be an ISO 8601 string");
    return date;
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

/** A connection's query: newest first (id breaks ties, so cursors are stable), only the given statuses if any. */
export function newestFirstWithStatus<S extends string>({ status }: { status?: S[] | null }) {
  return {
    where: status && status.length > 0 ? { status: { in: status } } : {},
    orderBy: [{ created_at: "desc" as const }, { id: "desc" as const }],
  };
}

/** Exposes a Prisma enum whose values are lower_snake (Medusa's) as an UPPER_SNAKE GraphQL enum. */
export function medusaEnum<T extends string>(name: string, values: readonly T[], description: string) {
  return builder.enumType(name, {
    description,
    values: Object.fromEntries(values.map((value) => [value.toUpperCase(), { value }])) as Record<
      Uppercase<T>,
      { value: T }
    >,
  });
}
