import { cursorToOffset, offsetToCursor } from "@pothos/plugin-relay";
import type { GraphQLResolveInfo } from "graphql";
import { parseResolveInfo, type ResolveTree } from "graphql-parse-resolve-info";
import { InvalidInputError } from "../../domain/errors";
import type { ProductFetch, StoreProduct, StoreVariant } from "../../services/storefront";
import type { MedusaCollection, MedusaProductOption, MedusaRegion } from "../../store/medusa-types";
import { builder } from "../builder";

/** The most products or collections in one page; a page without `first` has the default. */
export const STORE_PAGE_MAX = 50;
const STORE_PAGE_DEFAULT = 12;

export interface MoneyShape {
  amount: number;
  currencyCode: string;
}

export const Money = builder.objectRef<MoneyShape>("Money").implement({
  description: "An amount of money: an integer in the currency's minor unit (cents), and the currency.",
  fields: (t) => ({
    amount: t.exposeInt("amount"),
    currencyCode: t.exposeString("currencyCode", { description: "ISO 4217, lower case, as Medusa has it (eur)." }),
  }),
});

const Country = builder.objectRef<MedusaRegion["countries"][number]>("Country").implement({
  fields: (t) => ({
    code: t.exposeString("iso_2", { description: "ISO 3166-1 alpha-2, lower case (dk)." }),
    name: t.exposeString("display_name"),
  }),
});

export const Region = builder.objectRef<MedusaRegion>("Region").implement({
  description: "A Medusa region: the countries it serves, in one currency; prices and carts belong to one.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    currencyCode: t.exposeString("currency_code"),
    countries: t.field({ type: [Country], resolve: (region) => region.countries }),
  }),
});

export const ProductVariant = builder.objectRef<StoreVariant>("ProductVariant").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    sku: t.exposeString("sku", { nullable: true }),
    inventoryQuantity: t.exposeInt("inventory_quantity"),
    price: t.field({
      type: Money,
      nullable: true,
      description:
        "Medusa's calculated price in the region (prices lists and sales included, taxes not), as an anonymous " +
        "shopper sees it. Without `regionId`: the region the product was asked for in, or the cart's. Null " +
        "without a region, or when the variant has no price there.",
      args: { regionId: t.arg.id() },
      resolve: async (variant, args, ctx) => {
        const regionId =
          args.regionId === null || args.regionId === undefined ? variant.regionId : String(args.regionId);
        if (!regionId) return null;
        const [amount, currencyCode] = await Promise.all([
          ctx.store.variantPrice(variant, regionId),
          ctx.store.currencyOf(regionId),
        ]);
        return amount === null || currencyCode === null ? null : { amount, currencyCode };
      },
    }),
  }),
});

const ProductOption = builder.objectRef<MedusaProductOption>("ProductOption").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    values: t.stringList({
      description: "The option's values over the variants (each once).",
      resolve: (option) => [...new Set((option.values ?? []).map((value) => value.value))],
    }),
  }),
});

const ProductImage = builder.objectRef<{ id: string; url: string }>("ProductImage").implement({
  fields: (t) => ({ id: t.exposeID("id"), url: t.exposeString("url") }),
});

export const Collection = builder.objectRef<MedusaCollection>("Collection").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    handle: t.exposeString("handle", { nullable: true }),
  }),
});

export const Product = builder.objectRef<StoreProduct>("Product").implement({
  description: "A published product, read from Medusa with only the relations the query selects.",
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.string({ resolve: (product) => product.title ?? "" }),
    handle: t.string({ nullable: true, resolve: (product) => product.handle ?? null }),
    description: t.string({ nullable: true, resolve: (product) => product.description ?? null }),
    thumbnail: t.string({ nullable: true, resolve: (product) => product.thumbnail ?? null }),
    variants: t.field({ type: [ProductVariant], resolve: (product) => product.variants ?? [] }),
    options: t.field({ type: [ProductOption], resolve: (product) => product.options ?? [] }),
    images: t.field({ type: [ProductImage], resolve: (product) => product.images ?? [] }),
    collection: t.field({ type: Collection, nullable: true, resolve: (product) => product.collection ?? null }),
  }),
});

/** The fields selected on `typeName` below a tree (fragments and aliases merged). */
const selected = (tree: ResolveTree | undefined, typeName: string): ResolveTree[] =>
  tree ? Object.values(tree.fieldsByTypeName[typeName] ?? {}) : [];

/** Product fields that are Medusa columns (`fields`), and those that are relations (`expand`). */
const PRODUCT_COLUMNS: Record<string, string> = {
  title: "title",
  handle: "handle",
  description: "description",
  thumbnail: "thumbnail",
};
const PRODUCT_RELATIONS: Record<string, string[]> = {
  options: ["options", "options.values"],
  images: ["images"],
  collection: ["collection"],
};

/**
 * What to ask Medusa for, from the Product selections under the resolved field (`path` leads from
 * it to the products: `edges.node` in a connection): the columns and relations asked for, and the
 * variants' prices only when a price in the products' own region is asked for.
 */
function productFetch(info: GraphQLResolveInfo, path: [typeName: string, field: string][]): ProductFetch {
  let trees = [parseResolveInfo(info) as ResolveTree];
  for (const [typeName, field] of path)
    trees = trees.flatMap((tree) => selected(tree, typeName).filter((child) => child.name === field));
  const fields = new Set<string>();
  const relations = new Set<string>();
  for (const productField of trees.flatMap((tree) => selected(tree, "Product"))) {
    const column = PRODUCT_COLUMNS[productField.name];
    if (column) fields.add(column);
    for (const relation of PRODUCT_RELATIONS[productField.name] ?? []) relations.add(relation);
    if (productField.name !== "variants") continue;
    relations.add("variants");
    const prices = selected(productField, "ProductVariant").filter((variantField) => variantField.name === "price");
    // A price for another region comes from a call of its own (batched per region).
    if (prices.some((price) => price.args.regionId === undefined || price.args.regionId === null))
      relations.add("variants.prices");
  }
  return { fields: [...fields], relations: [...relations] };
}

/** `first`/`after` as Medusa's limit and offset; `first` between 1 and STORE_PAGE_MAX. */
function page(args: { first?: number | null; after?: string | null }) {
  const limit = args.first ?? STORE_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > STORE_PAGE_MAX)
    throw new InvalidInputError("first", `must be from 1 to ${STORE_PAGE_MAX}`);
  return { limit, offset: args.after ? offsetAfter(args.after) : 0 };
}

/** Medusa's offset is a 32-bit integer: a cursor past it is none this list gave. */
const MAX_OFFSET = 2 ** 31 - 1;

/** Where the page after `cursor` starts; a cursor this list never gave is refused, not sent on. */
function offsetAfter(cursor: string): number {
  let offset: number;
  try {
    offset = cursorToOffset(cursor) + 1;
  } catch {
    offset = Number.NaN;
  }
  if (!Number.isSafeInteger(offset) || offset < 1 || offset > MAX_OFFSET)
    throw new InvalidInputError("after", "is not a cursor of this list");
  return offset;
}

/** A Relay connection over one page of a Medusa list. */
function connection<T>(nodes: readonly T[], offset: number, count: number) {
  return {
    totalCount: count,
    edges: nodes.map((node, index) => ({ cursor: offsetToCursor(offset + index), node })),
    pageInfo: {
      hasNextPage: offset + nodes.length < count,
      hasPreviousPage: offset > 0,
      startCursor: nodes.length ? offsetToCursor(offset) : null,
      endCursor: nodes.length ? offsetToCursor(offset + nodes.length - 1) : null,
    },
  };
}

/** A connection type over a Medusa list, with its `totalCount` (the list's count). */
function countedConnection(type: Parameters<typeof builder.connectionObject>[0]["type"], name: string, edge: string) {
  return builder.connectionObject(
    {
      type,
      name,
      fields: (t) => ({
        totalCount: t.int({
          description: "How many there are in all.",
          resolve: (parent) => (parent as unknown as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: edge },
  );
}

const ProductConnection = countedConnection(Product, "ProductConnection", "ProductEdge");
const CollectionConnection = countedConnection(Collection, "CollectionConnection", "CollectionEdge");

/** An optional ID argument as a string (GraphQL IDs arrive as strings or numbers). */
const optionalId = (value: string | number | null | undefined) =>
  value === null || value === undefined ? undefined : String(value);

const STORE_ERRORS_NOTE =
  " In front of Medusa only: without MEDUSA_URL an error with `extensions.code` STORE_NOT_CONNECTED; Medusa " +
  "down or slower than MEDUSA_TIMEOUT, STORE_UNAVAILABLE.";

builder.queryFields((t) => ({
  regions: t.field({
    type: [Region],
    description: "Every region of the store." + STORE_ERRORS_NOTE,
    resolve: (_root, _args, ctx) => ctx.store.regions(),
  }),
  region: t.field({
    type: Region,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    description: "A region by id; null if there is none." + STORE_ERRORS_NOTE,
    resolve: (_root, { id }, ctx) => ctx.store.region(String(id)),
  }),
  products: t.field({
    type: ProductConnection,
    description:
      `Published products, Medusa's order, at most ${STORE_PAGE_MAX} a page (default ${STORE_PAGE_DEFAULT}). ` +
      "`regionId` prices the variants for that region; `query` is Medusa's search (title, description, " +
      "variant title and SKU, collection); `categoryId` includes the category's children." +
      STORE_ERRORS_NOTE,
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      regionId: t.arg.id(),
      query: t.arg.string(),
      collectionId: t.arg.id(),
      categoryId: t.arg.id(),
    },
    resolve: async (_root, args, ctx, info) => {
      const { limit, offset } = page(args);
      const fetch = productFetch(info, [
        ["ProductConnection", "edges"],
        ["ProductEdge", "node"],
      ]);
      const { products, count } = await ctx.store.productPage(
        {
          limit,
          offset,
          regionId: optionalId(args.regionId),
          query: args.query ?? undefined,
          collectionId: optionalId(args.collectionId),
          categoryId: optionalId(args.categoryId),
        },
        fetch,
      );
      return connection(products, offset, count);
    },
  }),
  product: t.field({
    type: Product,
    nullable: true,
    description:
      "A published product by `id` or by `handle` (exactly one of them); `regionId` prices its variants. Null if " +
      "there is none." +
      STORE_ERRORS_NOTE,
    args: { id: t.arg.id(), handle: t.arg.string(), regionId: t.arg.id() },
    resolve: (_root, args, ctx, info) => {
      const id = optionalId(args.id);
      const handle = args.handle ?? undefined;
      if ((id === undefined) === (handle === undefined))
        throw new InvalidInputError("product", "needs exactly one of id and handle");
      return ctx.store.product({ id, handle }, optionalId(args.regionId), productFetch(info, []));
    },
  }),
  collections: t.field({
    type: CollectionConnection,
    description: `Product collections, at most ${STORE_PAGE_MAX} a page.` + STORE_ERRORS_NOTE,
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const { limit, offset } = page(args);
      const { collections, count } = await ctx.store.collectionPage({ limit, offset });
      return connection(collections, offset, count);
    },
  }),
}));
