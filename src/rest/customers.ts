import { Router } from "express";
import { z } from "zod";
import { isEmail } from "../domain/email";
import { EmailTakenError, InvalidInputError } from "../domain/errors";
import type { Services } from "../graphql/context";
import { requireCustomer, sendSignedInCustomer } from "./auth";
import { invalidInput, MedusaError } from "./errors";
import { serializeCustomer } from "./serializers";
import { jsonBody, parseBody } from "./validation";

/** Medusa's `StorePostCustomersReq`, with its messages. */
const registration = {
  email: z.string({ error: "email must be an email" }).trim().refine(isEmail, { error: "email must be an email" }),
  password: z.string({ error: "password must be a string" }),
  first_name: z.string({ error: "first_name must be a string" }),
  last_name: z.string({ error: "last_name must be a string" }),
  phone: z.string({ error: "phone must be a string" }).nullish(),
};

/** `POST /store/customers` (Medusa's "Create a Customer") and `GET /store/customers/me`. */
export function customerRoutes(services: Services): Router {
  const router = Router();

  router.post("/customers", jsonBody, async (req, res) => {
    const body = parseBody(registration, req.body);
    try {
      const customer = await services.customers.register({
        email: body.email,
        password: body.password,
        firstName: body.first_name,
        lastName: body.last_name,
        phone: body.phone,
      });
      res.json({ customer: serializeCustomer(customer) });
    } catch (error) {
      if (error instanceof EmailTakenError) throw new MedusaError("duplicate_error", error.message);
      if (error instanceof InvalidInputError) throw invalidInput(error.field, error.message);
      throw error;
    }
  });

  router.get("/customers/me", requireCustomer, sendSignedInCustomer(services));

  return router;
}
