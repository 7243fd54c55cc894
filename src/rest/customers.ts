import type { IncomingMessage } from "node:http";
import { type RequestHandler, Router } from "express";
import { z } from "zod";
import { isEmail } from "../domain/email";
import { EmailTakenError, InvalidInputError } from "../domain/errors";
import type { Services } from "../services";
import { OrderStatus } from "../db/generated/prisma/enums";
import { customerIdOf, personalAnswer, requireCustomer } from "./auth";
import { invalidInput, MedusaError, UNAUTHORIZED } from "./errors";
import { serializeCustomer } from "./serializers";
import { orderProjection, toMedusaOrder } from "./order-projection";
import { enumListParam, integerParam, jsonBody, parseInput } from "./validation";

/** Medusa's `StorePostCustomersReq`, with its messages. */
export const registration = {
  email: z.string({ error: "email must be an email" }).trim().refine(isEmail, { error: "email must be an email" }),
  password: z.string({ error: "password must be a string" }),
  first_name: z.string({ error: "first_name must be a string" }),
  last_name: z.string({ error: "last_name must be a string" }),
  phone: z.string({ error: "phone must be a string" }).nullish(),
};

/** Most orders one page of `GET /store/customers/me/orders` holds (Medusa has no cap). */
const MAX_ORDERS_PER_PAGE = 100;

/** `GET /store/customers/me/orders` query: Medusa's pagination, status filter and projection. */
export const ordersQuery = {
  limit: integerParam("limit", 0, MAX_ORDERS_PER_PAGE).default(10),
  offset: integerParam("offset", 0, Number.MAX_SAFE_INTEGER).default(0),
  status: enumListParam("status", Object.values(OrderStatus) as [OrderStatus, ...OrderStatus[]]).optional(),
  fields: z.string({ error: "fields must be a string" }).optional(),
  expand: z.string({ error: "expand must be a string" }).optional(),
};

/**
 * `POST /store/customers` (Medusa's "Create a Customer"), the signed-in customer (`GET /store/auth`,
 * `GET /store/customers/me`) and its orders.
 */
export function customerRoutes(services: Services, clientAddress: (req: IncomingMessage) => string): Router {
  const router = Router();

  router.post("/customers", jsonBody, async (req, res) => {
    const body = parseInput(registration, req.body);
    try {
      const customer = await services.customers.register(
        {
          email: body.email,
          password: body.password,
          firstName: body.first_name,
          lastName: body.last_name,
          phone: body.phone,
        },
        clientAddress(req),
      );
      res.json({ customer: serializeCustomer(customer) });
    } catch (error) {
      if (error instanceof EmailTakenError) throw new MedusaError("duplicate_error", error.message);
      if (error instanceof InvalidInputError) throw invalidInput(error.field, error.message);
      throw error;
    }
  });

  // `{ customer }` for the signed-in customer, under both of Medusa's paths.
  const sendSignedInCustomer: RequestHandler = async (_req, res) => {
    const customer = await services.customers.findSelf(customerIdOf(res)!);
    if (!customer) throw UNAUTHORIZED();
    res.json({ customer: serializeCustomer(customer) });
  };
  router.get("/auth", personalAnswer, requireCustomer, sendSignedInCustomer);
  router.get("/customers/me", personalAnswer, requireCustomer, sendSignedInCustomer);

  router.get("/customers/me/orders", personalAnswer, requireCustomer, async (req, res) => {
    const query = parseInput(ordersQuery, req.query);
    const projection = orderProjection(query, { list: true, anyColumn: true });
    const { orders, count } = await services.orders.listOwn(
      customerIdOf(res)!,
      { limit: query.limit, offset: query.offset, statuses: query.status },
      projection.include,
    );
    res.json({
      orders: orders.map((order) => toMedusaOrder(order, projection)),
      count,
      offset: query.offset,
      limit: query.limit,
    });
  });

  return router;
}
