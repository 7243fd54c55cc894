import type { IncomingMessage } from "node:http";
import { Router } from "express";
import { z } from "zod";
import { isEmail } from "../domain/email";
import type { Services } from "../services";
import { MedusaError } from "./errors";
import { orderProjection, toMedusaOrder } from "./order-projection";
import { parseInput } from "./validation";

export const projection = {
  fields: z.string({ error: "fields must be a string" }).optional(),
  expand: z.string({ error: "expand must be a string" }).optional(),
};

const DISPLAY_ID = "display_id must be a number conforming to the specified constraints";
/** PostgreSQL's integer: a larger display id cannot exist (and must not reach the query). */
const MAX_DISPLAY_ID = 2_147_483_647;

/** Medusa's `StoreGetOrdersParams`; `shipping_address[postal_code]` is accepted and, as in Medusa, not used. */
export const lookupQuery = {
  display_id: z
    .string({ error: DISPLAY_ID })
    .regex(/^\d+$/, { error: DISPLAY_ID })
    .transform(Number)
    .refine((n) => n <= MAX_DISPLAY_ID, { error: DISPLAY_ID }),
  email: z.string({ error: "email must be an email" }).trim().refine(isEmail, { error: "email must be an email" }),
  shipping_address: z.object({ postal_code: z.string().optional() }).optional(),
  ...projection,
};

/** A path parameter as Medusa's message repeats it, cut short and without control characters. */
const echo = (value: unknown) =>
  String(value)
    .replace(/\p{Cc}/gu, "")
    .slice(0, 100);

/** Medusa's three public order reads: guest lookup, by id, by cart id. */
export function orderReadRoutes(services: Services, clientAddress: (req: IncomingMessage) => string): Router {
  const router = Router();

  router.get("/orders", async (req, res) => {
    const query = parseInput(lookupQuery, req.query);
    const shape = orderProjection(query, { list: false, anyColumn: false });
    const order = await services.orders.lookUp(query.display_id, query.email, clientAddress(req), {
      include: shape.include,
    });
    if (!order) throw new MedusaError("not_found", "No order has this number and email.");
    res.json({ order: toMedusaOrder(order, shape) });
  });

  // Before `/orders/:id`, which would take `cart` for an id.
  router.get("/orders/cart/:cart_id", async (req, res) => {
    const shape = orderProjection(parseInput(projection, req.query), { list: false, anyColumn: true });
    const order = await services.orders.findByCartId(String(req.params.cart_id), shape.include);
    if (!order) throw new MedusaError("not_found", `Order with cart id ${echo(req.params.cart_id)} was not found`);
    res.json({ order: toMedusaOrder(order, shape) });
  });

  router.get("/orders/:id", async (req, res) => {
    const shape = orderProjection(parseInput(projection, req.query), { list: false, anyColumn: false });
    const order = await services.orders.findById(String(req.params.id), shape.include);
    if (!order) throw new MedusaError("not_found", `Order with id ${echo(req.params.id)} was not found`);
    res.json({ order: toMedusaOrder(order, shape) });
  });

  return router;
}
