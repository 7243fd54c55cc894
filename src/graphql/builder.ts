import SchemaBuilder from "@pothos/core";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import type PrismaTypes from "../db/generated/pothos-types";
import { getDatamodel } from "../db/generated/pothos-types";
import { NotAuthenticatedError } from "../domain/errors";
import type { GraphQLContext, Viewer } from "./context";

/**
 * The one typed schema builder; each file in ./types adds one domain to it.
 *
 * Authorization is declared here and on the fields (scope auth plugin), not checked in resolvers:
 * a field that needs a signed-in customer is built with `t.withAuth({ signedIn: true })`, and its
 * resolver then sees a non-null `ctx.viewer`. Signed out, the resolver does not run and the field
 * fails with NotAuthenticatedError: the ErrorsPlugin, listed before the ScopeAuthPlugin so that it
 * wraps the check, returns it as the typed member where the field lists it in `errors.types`.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { signedIn: boolean };
  AuthContexts: { signedIn: GraphQLContext & { viewer: Viewer } };
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date } };
}>({
  plugins: [ErrorsPlugin, ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: { client: (ctx) => ctx.prisma, dmmf: getDatamodel(), filterConnectionTotalCount: true },
  errors: { defaultTypes: [] },
  scopeAuth: {
    // Scopes are computed once per request, from the context's viewer (null when signed out).
    authScopes: (ctx) => ({ signedIn: !!ctx.viewer }),
    // A subscription is refused when it is made, not at each event it would deliver.
    authorizeOnSubscribe: true,
    // Where no typed result can carry it (a subscription), the field sets its own unauthorizedError.
    unauthorizedError: () => new NotAuthenticatedError(),
  },
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
