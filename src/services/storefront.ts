import DataLoader from "dataloader";
import type { Db } from "../db/database";
import type { Logger } from "../lib/logger";
import { hasControlCharacters } from "../domain/email";
import {
  CartCompletedError,
  InvalidInputError,
  StoreNotConnectedError,
  StoreNotFoundError,
  StoreRejectedError,
  StoreUnavailableError,
} from "../domain/errors";
import type { CatalogCache } from "../store/catalog-cache";
import { type MedusaStoreClient, queryString, type StoreQuery, type StoreRequest } from "../store/medusa-store-client";
import type {
  MedusaCart,
  MedusaCollection,
  MedusaCompletion,
  MedusaPage,
  MedusaProduct,
  MedusaRegion,
  MedusaShippingOption,
  MedusaVariant,
} from "../store/medusa-types";

/** What to ask Medusa for a product: the relations (`expand`) and own fields (`fields`) a query selects. */
export interface ProductFetch {
  relations: readonly string[];
  fields: readonly string[];
}

/**
 * A variant as read, with the region it was read in (a product's region, a cart's): its price
 * without a region of its own is that region's. `calculated_price` is there when it was read with
 * prices (for that region).
 */
export type StoreVariant = MedusaVariant & { regionId?: string };
/** A product as read; its variants know the region their prices are for. */
export type StoreProduct = Omit<MedusaProduct, "variants"> & { variants?: StoreVariant[] };

export interface ProductPageQuery {
  limit: number;
  offset: number;
  regionId?: string;
  query?: string;
  collectionId?: string;
  categoryId?: string;
}

export interface CartAddressInput {
  firstName?: string | null;
  lastName?: string | null;
  company?: string | null;
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  province?: string | null;
  postalCode?: string | null;
  countryCode?: string | null;
  phone?: string | null;
}

export interface CartUpdate {
  email?: string | null;
  shippingAddress?: CartAddressInput | null;
  billingAddress?: CartAddressInput | null;
  regionId?: string | null;
  discountCode?: string | null;
}

/** The longest text sent to Medusa in a query or a body (a URL past 16 kB is refused by Node's server). */
const MAX_TEXT = 1000;

/**
 * Text for Medusa: no control characters (PostgreSQL refuses NUL, and Medusa then fails as a whole)
 * and at most MAX_TEXT characters.
 */
function text<T extends string | null | undefined>(field: string, value: T): T {
  if (typeof value !== "string") return value;
  if (hasControlCharacters(value)) throw new InvalidInputError(field, "must not contain control characters");
  if (value.length > MAX_TEXT) throw new InvalidInputError(field, `must be at most ${MAX_TEXT} characters`);
  return value;
}

/** Ids that go into a Medusa path: Medusa's own are `prefix_ULID`; nothing else may reach the path. */
const PATH_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** An id for a Medusa path or body: Medusa's shape, nothing else (an id that cannot exist is not sent). */
function storeId(field: string, value: string): string {
  if (!PATH_ID.test(value)) throw new InvalidInputError(field, "is not an id (letters, digits, _ and -)");
  return value;
}

/** The most of one quantity: Medusa keeps quantities in a 32-bit integer. */
const MAX_QUANTITY = 10_000;

function quantity(field: string, value: number, least: number): number {
  if (!Number.isInteger(value) || value < least || value > MAX_QUANTITY)
    throw new InvalidInputError(field, `must be a whole number from ${least} to ${MAX_QUANTITY}`);
  return value;
}

const ADDRESS_FIELDS = {
  firstName: "first_name",
  lastName: "last_name",
  company: "company",
  address1: "address_1",
  address2: "address_2",
  city: "city",
  province: "province",
  postalCode: "postal_code",
  countryCode: "country_code",
  phone: "phone",
} as const satisfies Record<keyof CartAddressInput, string>;

/** An address in Medusa's words (fields left out stay as they are); `field` names the argument. */
function medusaAddress(field: string, address: CartAddressInput): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, medusaName] of Object.entries(ADDRESS_FIELDS)) {
    const value = text(`${field}.${name}`, address[name as keyof CartAddressInput]);
    if (typeof value === "string") fields[medusaName] = name === "countryCode" ? value.toLowerCase() : value;
  }
  return fields;
}

/** The most ids in one batched call: a longer list would make a URL past Medusa's 16 kB. */
const MAX_BATCH = 100;

export interface StorefrontDeps {
  client?: MedusaStoreClient;
  cache: CatalogCache;
  prisma: Db;
  /** MEDUSA_TIMEOUT: how long all of one request's calls to Medusa may take together. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * The storefront in front of Medusa (design §7): catalog reads, the cart and the checkout, all
 * through Medusa's Store API, Medusa being the source of truth. One `StorefrontSession` per GraphQL
 * request batches and de-duplicates its calls; public catalog reads (made as an anonymous shopper)
 * go through the catalog cache, carts never do. Without MEDUSA_URL every call is
 * StoreNotConnectedError.
 */
export class StorefrontService {
  constructor(private readonly deps: StorefrontDeps) {}

  session(customerId: string | undefined): StorefrontSession {
    return new StorefrontSession(this.deps, customerId);
  }
}

/** A shipping option with the currency of the cart it was priced for. */
export type PricedShippingOption = MedusaShippingOption & { currencyCode: string };

export class StorefrontSession {
  private regionList?: Promise<MedusaRegion[]>;
  private readonly regionsById = new Map<string, Promise<MedusaRegion | null>>();
  /** One loader per way of reading products (region, relations, fields): ids in one call. */
  private readonly productLoaders = new Map<string, DataLoader<string, StoreProduct | null>>();
  private readonly handleLoaders = new Map<string, DataLoader<string, StoreProduct | null>>();
  /** One loader per region: variants' calculated prices in one call. */
  private readonly priceLoaders = new Map<string, DataLoader<string, number | null>>();
  private readonly carts = new Map<string, Promise<MedusaCart | null>>();
  /** When this request's calls to Medusa must be done: MEDUSA_TIMEOUT from the first. */
  private deadline?: number;

  constructor(
    private readonly deps: StorefrontDeps,
    private readonly customerId: string | undefined,
  ) {}

  private get client(): MedusaStoreClient {
    if (!this.deps.client) throw new StoreNotConnectedError();
    return this.deps.client;
  }

  private request(request: Omit<StoreRequest, "deadline">): StoreRequest {
    this.deadline ??= Date.now() + this.deps.timeoutMs;
    return { ...request, deadline: this.deadline };
  }

  /** A public catalog read: anonymous (so every shopper's answer is the same), through the cache. */
  private async catalogRead<T>(route: string, query?: StoreQuery, params?: Record<string, string>): Promise<T> {
    const client = this.client;
    const request = this.request({ method: "GET", route, params, query });
    const key = `${route}${params ? JSON.stringify(params) : ""}${queryString(query)}`;
    return JSON.parse(await this.deps.cache.read(key, () => client.text(request))) as T;
  }

  /** A call as the signed-in customer (if any), never cached. */
  private personal<T>(request: Omit<StoreRequest, "customerId" | "deadline">): Promise<T> {
    return this.client.call<T>(this.request({ ...request, customerId: this.customerId }));
  }

  regions(): Promise<MedusaRegion[]> {
    this.regionList ??= this.catalogRead<{ regions: MedusaRegion[] }>("/store/regions").then(({ regions }) => regions);
    return this.regionList;
  }

  /** A region by id: from the list when this request read it, otherwise on its own (cheaper for Medusa). */
  region(id: string): Promise<MedusaRegion | null> {
    if (this.regionList) return this.regionList.then((regions) => regions.find((region) => region.id === id) ?? null);
    let reading = this.regionsById.get(id);
    if (!reading) {
      reading = PATH_ID.test(id)
        ? this.catalogRead<{ region: MedusaRegion }>("/store/regions/:id", undefined, { id }).then(
            ({ region }) => region,
            nullIfNotFound,
          )
        : Promise.resolve(null);
      this.regionsById.set(id, reading);
    }
    return reading;
  }

  async currencyOf(regionId: string): Promise<string | null> {
    return (await this.region(regionId))?.currency_code ?? null;
  }

  private productQuery(fetch: ProductFetch, regionId: string | undefined): StoreQuery {
    return {
      // Asked for without any relation, Medusa 1.20 counts only the page it returns (`count`) and
      // orders it otherwise: the collection, a single join, is always asked for.
      expand: (fetch.relations.length ? fetch.relations : ["collection"]).join(","),
      fields: ["id", ...fetch.fields.filter((field) => field !== "id")].join(","),
      region_id: text("regionId", regionId),
    };
  }

  private async readProducts(query: StoreQuery, regionId: string | undefined) {
    const page = await this.catalogRead<MedusaPage & { products: MedusaProduct[] }>("/store/products", query);
    const products: StoreProduct[] = page.products.map((product) =>
      regionId && product.variants
        ? { ...product, variants: product.variants.map((variant) => ({ ...variant, regionId })) }
        : product,
    );
    return { products, count: page.count };
  }

  /** A page of products, Medusa's order, with what `fetch` names. */
  productPage(page: ProductPageQuery, fetch: ProductFetch) {
    return this.readProducts(
      {
        ...this.productQuery(fetch, page.regionId),
        limit: page.limit,
        offset: page.offset,
        q: text("query", page.query),
        collection_id: page.collectionId === undefined ? undefined : [text("collectionId", page.collectionId)],
        category_id: page.categoryId === undefined ? undefined : [text("categoryId", page.categoryId)],
        include_category_children: page.categoryId === undefined ? undefined : true,
      },
      page.regionId,
    );
  }

  /** One product by id or by handle; null if Medusa has none (or it is not published). */
  product(by: { id?: string; handle?: string }, regionId: string | undefined, fetch: ProductFetch) {
    // No product has such a handle or id (and Medusa fails on a NUL or an overlong URL).
    const key = by.id ?? by.handle ?? "";
    if (hasControlCharacters(key) || key.length > MAX_TEXT || (by.id !== undefined && !PATH_ID.test(by.id)))
      return Promise.resolve(null);
    const group = JSON.stringify([regionId, fetch.relations, fetch.fields]);
    if (by.id !== undefined) {
      let loader = this.productLoaders.get(group);
      if (!loader) {
        loader = new DataLoader(
          async (ids) => {
            const query = { ...this.productQuery(fetch, regionId), id: [...ids], limit: ids.length };
            const { products } = await this.readProducts(query, regionId);
            return ids.map((id) => products.find((product) => product.id === id) ?? null);
          },
          { maxBatchSize: MAX_BATCH },
        );
        this.productLoaders.set(group, loader);
      }
      return loader.load(by.id);
    }
    let loader = this.handleLoaders.get(group);
    if (!loader) {
      // Medusa filters by one handle at a time: the loader only de-duplicates, and a handle that
      // fails fails alone.
      loader = new DataLoader((handles) =>
        Promise.all(
          handles.map((handle) =>
            this.readProducts({ ...this.productQuery(fetch, regionId), handle, limit: 1 }, regionId).then(
              ({ products }) => products[0] ?? null,
              (error: Error) => error,
            ),
          ),
        ),
      );
      this.handleLoaders.set(group, loader);
    }
    return loader.load(by.handle!);
  }

  /**
   * Medusa's calculated price of a variant in a region: the one it was read with when that is the
   * region, otherwise every variant asked for in the region in one call (`GET /store/variants`).
   */
  variantPrice(variant: StoreVariant, regionId: string): Promise<number | null> {
    if (variant.regionId === regionId && variant.calculated_price !== undefined)
      return Promise.resolve(variant.calculated_price ?? null);
    let loader = this.priceLoaders.get(regionId);
    if (!loader) {
      text("regionId", regionId);
      loader = new DataLoader(
        async (ids) => {
          const { variants } = await this.catalogRead<{ variants: MedusaVariant[] }>("/store/variants", {
            ids: ids.join(","),
            region_id: regionId,
            limit: ids.length,
          });
          return ids.map((id) => variants.find((found) => found.id === id)?.calculated_price ?? null);
        },
        { maxBatchSize: MAX_BATCH },
      );
      this.priceLoaders.set(regionId, loader);
    }
    return loader.load(variant.id);
  }

  collectionPage(page: { limit: number; offset: number }) {
    return this.catalogRead<MedusaPage & { collections: MedusaCollection[] }>("/store/collections", page);
  }

  /**
   * A cart, as Medusa computes it; null when Medusa has none with this id, or when it belongs to a
   * customer account other than the signed-in one (told apart from no cart by no one).
   */
  cart(cartId: string): Promise<MedusaCart | null> {
    let reading = this.carts.get(cartId);
    if (!reading) {
      reading = this.readCart(cartId);
      this.carts.set(cartId, reading);
    }
    return reading;
  }

  private async readCart(cartId: string): Promise<MedusaCart | null> {
    if (!PATH_ID.test(cartId)) return null;
    // Anonymously: Medusa v1 hands a cart read with a customer's JWT to that customer, whoever had it.
    const cart = await this.client
      .call<{ cart: MedusaCart }>(this.request({ method: "GET", route: "/store/carts/:id", params: { id: cartId } }))
      .then(({ cart }) => cart, nullIfNotFound);
    return cart && (await this.mayUse(cart)) ? cart : null;
  }

  /**
   * Whether the caller may see and change this cart. Medusa v1 serves any cart to whoever has its id;
   * ordergate keeps a cart that belongs to a customer account to that customer. A guest's cart
   * (Medusa ties it to a guest customer record once it has an email) stays with whoever has its id.
   * A customer ordergate cannot find (not on Medusa's database) is taken for an account.
   */
  private async mayUse(cart: MedusaCart): Promise<boolean> {
    if (!cart.customer_id || cart.customer_id === this.customerId) return true;
    const owner = await this.deps.prisma.customer.findUnique({
      where: { id: cart.customer_id },
      select: { has_account: true },
    });
    if (!owner) this.deps.logger.warn("a cart's customer is not in ordergate's database (is it Medusa's?)");
    return owner?.has_account === false;
  }

  /** The cart, to be changed: there, the caller's, and not completed; its id. */
  private async openCart(cartId: string): Promise<string> {
    const cart = await this.cart(storeId("cartId", cartId));
    if (!cart) throw new StoreNotFoundError(`No cart with the id ${cartId}.`, "not_found");
    if (cart.completed_at) throw new CartCompletedError();
    return cart.id;
  }

  /** A change to the cart at `route` (its `:id` the cart's); the cart as Medusa answers it (totals computed). */
  private async changeCart(
    cartId: string,
    request: Omit<StoreRequest, "customerId" | "deadline" | "params"> & { lineId?: string },
  ): Promise<MedusaCart> {
    const id = await this.openCart(cartId);
    const { lineId, ...call } = request;
    const params: Record<string, string> = lineId === undefined ? { id } : { id, lineId };
    const { cart } = await this.personal<{ cart: MedusaCart }>({ ...call, params });
    this.carts.set(cart.id, Promise.resolve(cart));
    return cart;
  }

  async shippingOptions(cartId: string): Promise<PricedShippingOption[]> {
    const id = await this.openCart(cartId);
    const currencyCode = (await this.cart(id))!.region.currency_code;
    const answer = await this.personal<{ shipping_options: MedusaShippingOption[] }>({
      method: "GET",
      route: "/store/shipping-options/:id",
      params: { id },
    });
    return answer.shipping_options.map((option) => ({ ...option, currencyCode }));
  }

  /**
   * A new cart in a region, with its first lines, and a guest's email if given. Signed in, the cart
   * is the customer's in Medusa, with their email (Medusa takes both from the store JWT).
   */
  async createCart(input: {
    regionId: string;
    email?: string | null;
    items?: { variantId: string; quantity: number }[] | null;
  }): Promise<MedusaCart> {
    const items = (input.items ?? []).map((item, index) => ({
      variant_id: storeId(`input.items[${index}].variantId`, item.variantId),
      quantity: quantity(`input.items[${index}].quantity`, item.quantity, 1),
    }));
    const email = text("input.email", input.email);
    const { cart } = await this.personal<{ cart: MedusaCart }>({
      method: "POST",
      route: "/store/carts",
      body: { region_id: storeId("input.regionId", input.regionId), ...(items.length ? { items } : {}) },
    });
    if (this.customerId !== undefined) {
      if (cart.customer_id === this.customerId) return cart;
      // Medusa ignores a store JWT it cannot verify: the cart would be anyone's who has its id.
      this.deps.logger.error("Medusa did not take the customer's store JWT: is JWT_SECRET Medusa's jwt_secret?");
      throw new StoreUnavailableError();
    }
    if (!email) return cart;
    const withEmail = await this.personal<{ cart: MedusaCart }>({
      method: "POST",
      route: "/store/carts/:id",
      params: { id: cart.id },
      body: { email },
    });
    return withEmail.cart;
  }

  addLine(cartId: string, variantId: string, count: number) {
    const body = { variant_id: storeId("variantId", variantId), quantity: quantity("quantity", count, 1) };
    return this.changeCart(cartId, { method: "POST", route: "/store/carts/:id/line-items", body });
  }

  /** A line's new quantity; 0 removes it. */
  updateLine(cartId: string, lineId: string, count: number) {
    quantity("quantity", count, 0);
    const line = { route: "/store/carts/:id/line-items/:lineId", lineId: storeId("lineId", lineId) };
    if (count === 0) return this.changeCart(cartId, { method: "DELETE", ...line });
    return this.changeCart(cartId, { method: "POST", ...line, body: { quantity: count } });
  }

  removeLine(cartId: string, lineId: string) {
    const line = { route: "/store/carts/:id/line-items/:lineId", lineId: storeId("lineId", lineId) };
    return this.changeCart(cartId, { method: "DELETE", ...line });
  }

  /**
   * Changes the cart's email, addresses, region or discount code. Signed in, Medusa ties the cart to
   * the customer (a guest's cart becomes theirs) and keeps their email.
   */
  updateCart(cartId: string, update: CartUpdate) {
    const body = {
      email: text("input.email", update.email) ?? undefined,
      region_id: update.regionId ? storeId("input.regionId", update.regionId) : undefined,
      shipping_address: update.shippingAddress
        ? medusaAddress("input.shippingAddress", update.shippingAddress)
        : undefined,
      billing_address: update.billingAddress ? medusaAddress("input.billingAddress", update.billingAddress) : undefined,
      discounts: update.discountCode ? [{ code: text("input.discountCode", update.discountCode) }] : undefined,
    };
    return this.changeCart(cartId, { method: "POST", route: "/store/carts/:id", body });
  }

  addShippingMethod(cartId: string, optionId: string) {
    const body = { option_id: storeId("optionId", optionId) };
    return this.changeCart(cartId, { method: "POST", route: "/store/carts/:id/shipping-methods", body });
  }

  initializePayment(cartId: string) {
    return this.changeCart(cartId, { method: "POST", route: "/store/carts/:id/payment-sessions" });
  }

  selectPaymentProvider(cartId: string, providerId: string) {
    const body = { provider_id: storeId("providerId", providerId) };
    return this.changeCart(cartId, { method: "POST", route: "/store/carts/:id/payment-session", body });
  }

  /**
   * Completes the checkout; the order's id. A cart completed already gives its order again (Medusa's
   * idempotent answer); a payment that needs more (no order yet) is refused with Medusa's words.
   */
  async completeCart(cartId: string): Promise<string> {
    const cart = await this.cart(storeId("cartId", cartId));
    if (!cart) throw new StoreNotFoundError(`No cart with the id ${cartId}.`, "not_found");
    this.carts.delete(cart.id);
    const completion = await this.personal<MedusaCompletion>({
      method: "POST",
      route: "/store/carts/:id/complete",
      params: { id: cart.id },
    });
    if (completion.type === "order") return completion.data.id;
    if (completion.type === "cart")
      throw new StoreRejectedError(
        "The payment was not authorized, so the cart was not completed. Check the payment session and try again.",
        "payment_authorization_error",
      );
    throw new StoreRejectedError("This cart belongs to a swap: complete it through Medusa's swap flow.", "not_allowed");
  }
}

/** A read's answer: null when Medusa knows no such thing. */
function nullIfNotFound(error: unknown): null {
  if (error instanceof StoreNotFoundError) return null;
  throw error;
}
