import express from "express";
import { z } from "zod";
import { MedusaError } from "./errors";

const objectSchemas = new WeakMap<z.ZodRawShape, z.ZodObject>();

/** The object schema of a route's shape, built once (building it costs more than the parse). */
function objectSchema<Shape extends z.ZodRawShape>(shape: Shape): z.ZodObject<Shape> {
  let schema = objectSchemas.get(shape);
  if (!schema) objectSchemas.set(shape, (schema = z.object(shape)));
  return schema as z.ZodObject<Shape>;
}

/**
 * Validates a JSON body (or a parsed query string) the way Medusa v1's class-validator setup does:
 * unknown properties are refused (`property x should not exist`) and every problem is joined into
 * one `invalid_data`.
 */
export function parseInput<Shape extends z.ZodRawShape>(shape: Shape, received: unknown): z.infer<z.ZodObject<Shape>> {
  // No body at all is `{}` to Medusa (body-parser's default): the error then names the missing field.
  const body = received === undefined ? {} : received;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new MedusaError("invalid_data", "The request body must be a JSON object.");
  }
  // Own properties only: `in` would let `__proto__`, `constructor` or `toString` through (Object.prototype's).
  const unknownKeys = Object.keys(body).filter((key) => !Object.hasOwn(shape, key));
  if (unknownKeys.length > 0) {
    throw new MedusaError("invalid_data", unknownKeys.map((key) => `property ${key} should not exist`).join(", "));
  }
  const parsed = objectSchema(shape).safeParse(body);
  // One mention per problem: `[1, 2]` is "each value in order_ids must be a string" once, not twice.
  if (!parsed.success)
    throw new MedusaError("invalid_data", [...new Set(parsed.error.issues.map((issue) => issue.message))].join(", "));
  return parsed.data;
}

/** A required string with Medusa-style messages naming the field. */
export const requiredString = (field: string) =>
  z.string({ error: `${field} must be a string` }).min(1, { error: `${field} should not be empty` });

export const stringArray = (field: string) =>
  z.array(z.string({ error: `each value in ${field} must be a string` }), { error: `${field} must be an array` });

/** The most a Store API request body may hold (Medusa's body-parser default). */
export const STORE_BODY_LIMIT_BYTES = 100 * 1024;

/** JSON body parsing, placed on each route after its authentication check (401 comes before 400). */
export const jsonBody = express.json({ limit: STORE_BODY_LIMIT_BYTES, strict: false });

/** An integer query parameter (`?limit=10`), with class-validator's messages. */
export const integerParam = (field: string, min: number, max: number) =>
  z
    .string({ error: `${field} must be an integer number` })
    .regex(/^\d+$/, { error: `${field} must be an integer number` })
    .transform(Number)
    .refine((n) => n >= min, { error: `${field} must not be less than ${min}` })
    .refine((n) => n <= max, { error: `${field} must not be greater than ${max}` });

/** `?status[]=a&status[]=b` (or `status[0]=a`, or a single `status=a`): a list of enum values. */
export const enumListParam = <T extends string>(field: string, values: readonly [T, ...T[]]) =>
  z
    .union([z.string(), z.array(z.string())], {
      error: `each value in ${field} must be one of the following values: ${values.join(", ")}`,
    })
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .pipe(
      z.array(
        z.enum(values, { error: `each value in ${field} must be one of the following values: ${values.join(", ")}` }),
      ),
    );
