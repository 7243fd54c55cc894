import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder";
import "./types/errors";
import "./types/customer";
import "./types/order";
import "./types/claims";
import "./types/catalog";
import "./types/cart";

export const schema = builder.toSchema();

/** The SDL committed as `schema.graphql`. */
export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
