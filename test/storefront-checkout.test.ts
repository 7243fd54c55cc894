import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { TestMedusa, describeWithMedusa } from "./support/medusa";

const describeInMedusa = describeWithMedusa("the storefront checkout tests");

jest.setTimeout(120_000);

const CART_FIELDS = `id email currencyCode subtotal taxTotal shippingTotal discountTotal total discountCodes completedAt
  region { id } shippingAddress { city countryCode } items { id title quantity unitPrice total variant { sku } }
  shippingMethods { optionId name price } paymentSessions { providerId status isSelected }`;

/** A cart mutation's answer: the cart, or the typed error (`__typename`, `code`, `message`). */
const CART_RESULT = `__typename ... on CartSuccess { cart { ${CART_FIELDS} } } ... on Error { code message }`;

const US_ADDRESS = {
  firstName: "Ann",
  lastName: "Lee",
  address1: "1 Main St",
  city: "Springfield",
  postalCode: "12345",
  countryCode: "us",
};

describeInMedusa("a checkout through /graphql only, in front of a real Medusa v1", () => {
  let medusa: TestMedusa;
  let t: TestGateway;
  let eu: string;
  let na: string;
  /** SKU -> variant id, from Medusa's own product list. */
  const variants = new Map<string, string>();
  let admin: string;

  beforeAll(async () => {
    medusa = await (await TestMedusa.create(TEST_JWT_SECRET)).start();
    t = await startTestGateway({ DATABASE_URL: medusa.databaseUrl, MEDUSA_URL: medusa.url });
    const { regions } = (await medusa.request("GET", "/store/regions")).json;
    eu = regions.find((region: { name: string }) => region.name === "EU").id;
    na = regions.find((region: { name: string }) => region.name === "NA").id;
    for (const product of (await medusa.request("GET", "/store/products?limit=100")).json.products)
      for (const variant of product.variants) variants.set(variant.sku, variant.id);
    admin = (
      await medusa.request("POST", "/admin/auth/token", { body: { email: "admin@test.com", password: "supersecret" } })
    ).json.access_token;
    // 10% off in NA only: applies to an NA cart, not to an EU one.
    const discount = await medusa.request("POST", "/admin/discounts", {
      bearer: admin,
      body: { code: "TENOFF", rule: { type: "percentage", value: 10, allocation: "total" }, regions: [na] },
    });
    expect(discount.status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await medusa?.close();
  });

  const mutate = async (field: string, args: string, variables: Record<string, unknown>, bearer?: string) => {
    const result = await t.graphql<any>(`mutation(${args}) { result: ${field} { ${CART_RESULT} } }`, variables, bearer);
    expect(result.errors).toBeUndefined();
    return result.data!.result;
  };
  const cartOf = async (field: string, args: string, variables: Record<string, unknown>, bearer?: string) => {
    const result = await mutate(field, args, variables, bearer);
    expect(result).toMatchObject({ __typename: "CartSuccess" });
    return result.cart;
  };

  /** The cart as ordergate answers it equals Medusa's own `GET /store/carts/:id`, totals and lines. */
  const expectMedusasTotals = async (cart: any) => {
    const { json } = await medusa.request("GET", `/store/carts/${cart.id}`);
    const own = json.cart;
    expect({
      subtotal: cart.subtotal,
      taxTotal: cart.taxTotal,
      shippingTotal: cart.shippingTotal,
      discountTotal: cart.discountTotal,
      total: cart.total,
      items: cart.items.map((item: any) => ({
        id: item.id,
        quantity: item.quantity,
        unitPrice: item.unitPrice,
        total: item.total,
      })),
    }).toEqual({
      subtotal: own.subtotal,
      taxTotal: own.tax_total,
      shippingTotal: own.shipping_total,
      discountTotal: own.discount_total,
      total: own.total,
      items: own.items.map((item: any) => ({
        id: item.id,
        quantity: item.quantity,
        unitPrice: item.unit_price,
        total: item.total,
      })),
    });
  };

  /** Shipping, payment and completion of a cart that has lines and an address; the order. */
  const finishCheckout = async (cartId: string, bearer?: string) => {
    const options = await t.graphql<any>(
      `query($c: ID!) { shippingOptions(cartId: $c) { id name price { amount currencyCode } } }`,
      { c: cartId },
      bearer,
    );
    expect(options.errors).toBeUndefined();
    await cartOf(
      "addShippingMethod(cartId: $c, optionId: $o)",
      "$c: ID!, $o: ID!",
      { c: cartId, o: options.data!.shippingOptions[0].id },
      bearer,
    );
    await cartOf("initializePayment(cartId: $c)", "$c: ID!", { c: cartId }, bearer);
    await cartOf('selectPaymentProvider(cartId: $c, providerId: "manual")', "$c: ID!", { c: cartId }, bearer);
    const completed = await t.graphql<any>(
      `mutation($c: ID!) { completeCart(cartId: $c) { __typename ... on CompleteCartSuccess { order { id displayId email status } } ... on Error { code message } } }`,
      { c: cartId },
      bearer,
    );
    expect(completed.errors).toBeUndefined();
    expect(completed.data!.completeCart.__typename).toBe("CompleteCartSuccess");
    return completed.data!.completeCart.order as { id: string; displayId: number; email: string; status: string };
  };

  it("takes a guest from an empty cart to an order, the totals at every step equal to Medusa's own", async () => {
    let cart = await cartOf("createCart(input: $input)", "$input: CreateCartInput!", {
      input: {
        regionId: na,
        email: "guest.checkout@example.com",
        items: [{ variantId: variants.get("MUG-01-W"), quantity: 2 }],
      },
    });
    expect(cart).toMatchObject({ email: "guest.checkout@example.com", currencyCode: "usd", region: { id: na } });
    expect(cart.items).toMatchObject([{ quantity: 2, variant: { sku: "MUG-01-W" } }]);
    await expectMedusasTotals(cart);

    cart = await cartOf("addCartLine(cartId: $c, variantId: $v, quantity: 1)", "$c: ID!, $v: ID!", {
      c: cart.id,
      v: variants.get("REF-TS-S"),
    });
    expect(cart.items).toHaveLength(2);
    await expectMedusasTotals(cart);
    const mugLine = cart.items.find((item: any) => item.variant.sku === "MUG-01-W").id;
    const shirtLine = cart.items.find((item: any) => item.variant.sku === "REF-TS-S").id;

    cart = await cartOf("updateCartLine(cartId: $c, lineId: $l, quantity: 3)", "$c: ID!, $l: ID!", {
      c: cart.id,
      l: mugLine,
    });
    expect(cart.items.find((item: any) => item.id === mugLine).quantity).toBe(3);
    await expectMedusasTotals(cart);

    cart = await cartOf("removeCartLine(cartId: $c, lineId: $l)", "$c: ID!, $l: ID!", { c: cart.id, l: shirtLine });
    expect(cart.items.map((item: any) => item.id)).toEqual([mugLine]);
    await expectMedusasTotals(cart);

    cart = await cartOf("updateCart(cartId: $c, input: $input)", "$c: ID!, $input: UpdateCartInput!", {
      c: cart.id,
      input: { shippingAddress: US_ADDRESS, billingAddress: US_ADDRESS },
    });
    expect(cart.shippingAddress).toEqual({ city: "Springfield", countryCode: "us" });
    // NA charges 10% tax: the totals are not trivially the subtotal.
    expect(cart.taxTotal).toBeGreaterThan(0);
    await expectMedusasTotals(cart);

    cart = await cartOf('updateCart(cartId: $c, input: { discountCode: "TENOFF" })', "$c: ID!", { c: cart.id });
    expect(cart.discountCodes).toEqual(["TENOFF"]);
    expect(cart.discountTotal).toBeGreaterThan(0);
    await expectMedusasTotals(cart);

    const options = (
      await t.graphql<any>(`query($c: ID!) { shippingOptions(cartId: $c) { id name price { amount currencyCode } } }`, {
        c: cart.id,
      })
    ).data!.shippingOptions;
    const medusaOptions = (await medusa.request("GET", `/store/shipping-options/${cart.id}`)).json.shipping_options;
    expect(options).toEqual(
      medusaOptions.map((option: any) => ({
        id: option.id,
        name: option.name,
        price: { amount: option.amount, currencyCode: "usd" },
      })),
    );
    cart = await cartOf("addShippingMethod(cartId: $c, optionId: $o)", "$c: ID!, $o: ID!", {
      c: cart.id,
      o: options[0].id,
    });
    expect(cart.shippingMethods).toEqual([{ optionId: options[0].id, name: "Ground", price: 700 }]);
    expect(cart.shippingTotal).toBe(700);
    await expectMedusasTotals(cart);

    cart = await cartOf("initializePayment(cartId: $c)", "$c: ID!", { c: cart.id });
    expect(cart.paymentSessions).toEqual([{ providerId: "manual", status: "pending", isSelected: true }]);
    cart = await cartOf('selectPaymentProvider(cartId: $c, providerId: "manual")', "$c: ID!", { c: cart.id });
    await expectMedusasTotals(cart);
    const totalBefore = cart.total;

    const completed = await t.graphql<any>(
      `mutation($c: ID!) { completeCart(cartId: $c) { __typename ... on CompleteCartSuccess { order { id displayId email subtotal items { quantity unitPrice } } } } }`,
      { c: cart.id },
    );
    const order = completed.data!.completeCart.order;
    expect(order).toMatchObject({ email: "guest.checkout@example.com", items: [{ quantity: 3 }] });
    // Medusa made it, from this cart, for this amount.
    const medusaOrder = (await medusa.request("GET", `/store/orders/cart/${cart.id}`)).json.order;
    expect(medusaOrder).toMatchObject({ id: order.id, display_id: order.displayId, total: totalBefore });

    // The cart now says it was completed; completing it again gives the same order.
    const again = await t.graphql<any>(
      `mutation($c: ID!) { completeCart(cartId: $c) { ... on CompleteCartSuccess { order { id } } } }`,
      { c: cart.id },
    );
    expect(again.data!.completeCart.order.id).toBe(order.id);
    const read = await t.graphql<any>(`query($c: ID!) { cart(id: $c) { completedAt } }`, { c: cart.id });
    expect(read.data!.cart.completedAt).not.toBeNull();

    // An order like any other: the guest lookup finds it, and an account can claim it.
    const lookup = await t.graphql<any>(
      `query($d: Int!, $e: String!) { orderLookup(displayId: $d, email: $e) { id } }`,
      {
        d: order.displayId,
        e: "Guest.Checkout@example.com",
      },
    );
    expect(lookup.data!.orderLookup).toEqual({ id: order.id });
    const claimer = await medusa.registerCustomer("claimer@example.com", "correct horse");
    const claim = await t.graphql<any>(
      `mutation($ids: [ID!]!) { claimOrders(orderIds: $ids) { __typename ... on ClaimOrdersSuccess { claims { id } } } }`,
      { ids: [order.id] },
      claimer.token,
    );
    expect(claim.data!.claimOrders.__typename).toBe("ClaimOrdersSuccess");
    expect(claim.data!.claimOrders.claims).toHaveLength(1);
  });

  it("gives a signed-in customer's cart to that customer in Medusa, and the order to their account", async () => {
    const ann = await medusa.registerCustomer("ann.cart@example.com", "correct horse");
    const cart = await cartOf(
      "createCart(input: $input)",
      "$input: CreateCartInput!",
      { input: { regionId: eu, items: [{ variantId: variants.get("MUG-02-B"), quantity: 1 }] } },
      ann.token,
    );
    expect(cart.email).toBe("ann.cart@example.com");
    const medusaCart = (await medusa.request("GET", `/store/carts/${cart.id}`)).json.cart;
    expect(medusaCart.customer_id).toBe(ann.id);

    // Nobody else sees or changes it: not signed out, not another customer.
    const bob = await medusa.registerCustomer("bob.cart@example.com", "correct horse");
    for (const bearer of [undefined, bob.token]) {
      const read = await t.graphql<any>(`query($c: ID!) { cart(id: $c) { id } }`, { c: cart.id }, bearer);
      expect(read.data!.cart).toBeNull();
      const change = await mutate(
        "addCartLine(cartId: $c, variantId: $v, quantity: 5)",
        "$c: ID!, $v: ID!",
        { c: cart.id, v: variants.get("MUG-02-B") },
        bearer,
      );
      expect(change).toMatchObject({ __typename: "StoreNotFoundError", code: "NOT_FOUND" });
    }
    // Still Ann's, unchanged (Medusa v1 itself hands a cart read with another customer's JWT to them).
    expect((await medusa.request("GET", `/store/carts/${cart.id}`)).json.cart).toMatchObject({
      customer_id: ann.id,
      items: [{ quantity: 1 }],
    });

    const own = await t.graphql<any>(`query($c: ID!) { cart(id: $c) { id } }`, { c: cart.id }, ann.token);
    expect(own.data!.cart).toEqual({ id: cart.id });
    await cartOf(
      "updateCart(cartId: $c, input: $input)",
      "$c: ID!, $input: UpdateCartInput!",
      {
        c: cart.id,
        input: { shippingAddress: { ...US_ADDRESS, countryCode: "dk", city: "Copenhagen" } },
      },
      ann.token,
    );
    const order = await finishCheckout(cart.id, ann.token);
    expect(order.email).toBe("ann.cart@example.com");
    const mine = await t.graphql<any>(`{ me { orders(first: 10) { edges { node { id } } } } }`, {}, ann.token);
    expect(mine.data!.me.orders.edges.map((edge: any) => edge.node.id)).toEqual([order.id]);
  });

  it("refuses a signed-in customer's cart that Medusa would make nobody's (a JWT_SECRET other than Medusa's)", async () => {
    await medusa.registerCustomer("mismatch@example.com", "correct horse");
    const otherSecret = await startTestGateway({
      DATABASE_URL: medusa.databaseUrl,
      MEDUSA_URL: medusa.url,
      JWT_SECRET: "not-medusas-jwt-secret-0123456789",
    });
    try {
      const signedIn = await otherSecret.graphql<any>(
        `mutation { logIn(email: "mismatch@example.com", password: "correct horse") { ... on SignedIn { token } } }`,
      );
      const token = signedIn.data!.logIn.token as string;
      const created = await otherSecret.graphql<any>(
        `mutation($r: ID!) { createCart(input: { regionId: $r }) { __typename ... on Error { code } } }`,
        { r: eu },
        token,
      );
      // Medusa ignored the JWT it could not verify: the cart it made is no one's, and is not handed out.
      expect(created.data!.createCart).toEqual({ __typename: "StoreUnavailableError", code: "STORE_UNAVAILABLE" });
    } finally {
      await otherSecret.close();
    }
  });

  it("answers Medusa's refusals as typed errors with Medusa's message", async () => {
    const cart = await cartOf("createCart(input: $input)", "$input: CreateCartInput!", {
      input: { regionId: eu, email: "refused@example.com" },
    });
    const c = cart.id;
    const expectRefusal = async (
      field: string,
      args: string,
      variables: Record<string, unknown>,
      typename: string,
      code: string,
      message: RegExp,
    ) => {
      const result = await mutate(field, args, { c, ...variables });
      expect(result).toMatchObject({ __typename: typename, code });
      expect(result.message).toMatch(message);
    };
    await expectRefusal(
      'addCartLine(cartId: $c, variantId: "variant_nope", quantity: 1)',
      "$c: ID!",
      {},
      "StoreNotFoundError",
      "NOT_FOUND",
      /variant has not been found: variant_nope/,
    );
    // Two posters are left.
    await expectRefusal(
      "addCartLine(cartId: $c, variantId: $v, quantity: 3)",
      "$c: ID!, $v: ID!",
      { v: variants.get("POSTER-A2") },
      "OutOfStockError",
      "OUT_OF_STOCK",
      /does not have the required inventory/,
    );
    await expectRefusal(
      "updateCart(cartId: $c, input: $input)",
      "$c: ID!, $input: UpdateCartInput!",
      { input: { shippingAddress: US_ADDRESS } },
      "AddressNotInRegionError",
      "ADDRESS_NOT_IN_REGION",
      /Shipping country must be in the cart region/,
    );
    await expectRefusal(
      'updateCart(cartId: $c, input: { discountCode: "TENOFF" })',
      "$c: ID!",
      {},
      "DiscountNotApplicableError",
      "DISCOUNT_NOT_APPLICABLE",
      /not available in current region/,
    );
    await expectRefusal(
      'updateCart(cartId: $c, input: { discountCode: "NO-SUCH-CODE" })',
      "$c: ID!",
      {},
      "StoreNotFoundError",
      "NOT_FOUND",
      /NO-SUCH-CODE/,
    );
    await expectRefusal(
      'addShippingMethod(cartId: $c, optionId: "so_nope")',
      "$c: ID!",
      {},
      "StoreNotFoundError",
      "NOT_FOUND",
      /so_nope/,
    );
    await expectRefusal(
      'selectPaymentProvider(cartId: $c, providerId: "stripe")',
      "$c: ID!",
      {},
      "StoreRejectedError",
      "STORE_REJECTED",
      /not available in this region/,
    );
    await expectRefusal(
      "addCartLine(cartId: $c, variantId: $v, quantity: 0)",
      "$c: ID!, $v: ID!",
      { v: variants.get("MUG-01-W") },
      "InvalidInputError",
      "INVALID_INPUT",
      /quantity/,
    );
    await expectRefusal(
      'updateCartLine(cartId: $c, lineId: "../../admin", quantity: 1)',
      "$c: ID!",
      {},
      "InvalidInputError",
      "INVALID_INPUT",
      /lineId/,
    );
    const unknownCart = await mutate('addCartLine(cartId: "cart_nope", variantId: $v, quantity: 1)', "$v: ID!", {
      v: variants.get("MUG-01-W"),
    });
    expect(unknownCart).toMatchObject({ __typename: "StoreNotFoundError", code: "NOT_FOUND" });
    // Nothing of it reached the cart.
    const medusaCart = (await medusa.request("GET", `/store/carts/${c}`)).json.cart;
    expect(medusaCart).toMatchObject({ items: [], discounts: [], shipping_address_id: null });
  });

  it("refuses to change a completed cart", async () => {
    const cart = await cartOf("createCart(input: $input)", "$input: CreateCartInput!", {
      input: { regionId: eu, email: "done@example.com", items: [{ variantId: variants.get("MUG-03-G"), quantity: 1 }] },
    });
    await cartOf("updateCart(cartId: $c, input: $input)", "$c: ID!, $input: UpdateCartInput!", {
      c: cart.id,
      input: { shippingAddress: { ...US_ADDRESS, countryCode: "de", city: "Berlin" } },
    });
    await finishCheckout(cart.id);
    for (const [field, args, variables] of [
      ["addCartLine(cartId: $c, variantId: $v, quantity: 1)", "$c: ID!, $v: ID!", { v: variants.get("MUG-03-G") }],
      ['updateCart(cartId: $c, input: { email: "other@example.com" })', "$c: ID!", {}],
      ["initializePayment(cartId: $c)", "$c: ID!", {}],
    ] as const) {
      const result = await mutate(field, args, { c: cart.id, ...variables });
      expect(result).toMatchObject({ __typename: "CartCompletedError", code: "CART_COMPLETED" });
    }
    const medusaCart = (await medusa.request("GET", `/store/carts/${cart.id}`)).json.cart;
    expect(medusaCart).toMatchObject({ email: "done@example.com", items: [{ quantity: 1 }] });
  });
});
