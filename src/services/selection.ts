/**
 * A Prisma `include`/`select` fragment: the GraphQL layer computes one from the fields asked for
 * (Pothos), so a service can load exactly that in the same query.
 */
export type Selection = { include?: object; select?: object };
