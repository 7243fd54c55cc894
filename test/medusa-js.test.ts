import Medusa from "@medusajs/medusa-js";
import type { TestGateway } from "./support/gateway";
import { claimScenario, useClaimFixture } from "./support/scenarios";
import type { TestMailServer } from "./support/smtp";

/**
 * A Medusa v1 storefront's own client, `@medusajs/medusa-js` 6.1.10, unchanged, against ordergate.
 * (In Node it keeps no JWT itself: the storefront passes `Authorization` as a custom header.)
 */
const { customers, orders } = claimScenario;
const fixture = useClaimFixture();
let t: TestGateway;
let mail: TestMailServer;
beforeAll(() => ({ t, mail } = fixture));

// medusa-js's results are untyped here (its types come from @medusajs/medusa, not installed).
type Loose = any; // eslint-disable-line @typescript-eslint/no-explicit-any

it("claims guest orders end to end: token, request, mailed token, confirm, list", async () => {
  const medusa = new Medusa({ baseUrl: t.url, maxRetries: 0 });
  const { access_token: jwt }: Loose = await medusa.auth.getToken({
    email: customers.ann.email,
    password: customers.ann.password!,
  });
  const signedIn = { Authorization: `Bearer ${jwt}` };

  const before: Loose = await medusa.customers.listOrders({ limit: 10, offset: 0 }, signedIn);
  expect(before.orders.map((o: Loose) => o.id)).toEqual([orders.annOwn.id]);

  await medusa.orders.requestCustomerOrders({ order_ids: [orders.work1.id, orders.work2.id] }, signedIn);
  const [message] = await mail.waitFor(1);
  expect(message!.to).toEqual(["ann.work@example.com"]);
  await medusa.orders.confirmRequest({ token: message!.token! });

  const after: Loose = await medusa.customers.listOrders({ limit: 10, offset: 0 }, signedIn);
  expect(after.count).toBe(3);
  expect(after.orders.map((o: Loose) => o.id).sort()).toEqual(
    [orders.annOwn.id, orders.work1.id, orders.work2.id].sort(),
  );
  expect(after.orders.find((o: Loose) => o.id === orders.work1.id)).toMatchObject({
    display_id: 1001,
    customer_id: customers.ann.id,
    subtotal: 3000,
  });
  // qs lists, as medusa-js writes them (`status[0]=...`)
  const pending: Loose = await medusa.customers.listOrders({ status: ["pending"] } as Loose, signedIn);
  expect(pending.count).toBe(3);
});

it("registers, checks, signs in and reads, as a storefront does", async () => {
  const medusa = new Medusa({ baseUrl: t.url, maxRetries: 0 });
  const email = `js-${Date.now()}@example.com`;
  expect(((await medusa.auth.exists(email)) as Loose).exists).toBe(false);
  const created: Loose = await medusa.customers.create({
    email,
    password: "a long passphrase",
    first_name: "Jo",
    last_name: "Script",
  });
  expect(created.customer).toMatchObject({ email, first_name: "Jo" });
  expect(JSON.stringify(created.customer)).not.toContain("password");
  expect(((await medusa.auth.exists(email)) as Loose).exists).toBe(true);

  const { access_token: jwt }: Loose = await medusa.auth.getToken({ email, password: "a long passphrase" });
  const me: Loose = await medusa.customers.retrieve({ Authorization: `Bearer ${jwt}` });
  expect(me.customer.id).toBe(created.customer.id);

  const duplicate = await medusa.customers.create({ email, password: "x", first_name: "Jo", last_name: "Again" }).then(
    () => undefined,
    (error: Loose) => error.response,
  );
  expect(duplicate.status).toBe(422);
  expect(duplicate.data).toMatchObject({ type: "duplicate_error" });
  await t.prisma.customer.delete({ where: { id: created.customer.id } });
});

it("reads single orders by id, by cart and by number and email", async () => {
  await t.prisma.order.update({ where: { id: orders.home.id }, data: { cart_id: "cart_js" } });
  const medusa = new Medusa({ baseUrl: t.url, maxRetries: 0 });
  expect(((await medusa.orders.retrieve(orders.home.id)) as Loose).order.display_id).toBe(1003);
  expect(((await medusa.orders.retrieveByCartId("cart_js")) as Loose).order.id).toBe(orders.home.id);
  const found: Loose = await medusa.orders.lookupOrder({ display_id: 1003, email: "ann.home@example.net" });
  expect(found.order.id).toBe(orders.home.id);
  const missing = await medusa.orders.lookupOrder({ display_id: 1003, email: "someone@example.net" }).then(
    () => undefined,
    (error: Loose) => error.response,
  );
  expect(missing.status).toBe(404);
});
