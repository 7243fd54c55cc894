import { startTestGateway, TEST_JWT_SECRET, type TestGateway } from "./support/gateway";
import { TestMedusa, describeWithMedusa } from "./support/medusa";
import { RecordingProxy } from "./support/recording-proxy";

const describeInMedusa = describeWithMedusa("the storefront catalog tests");

jest.setTimeout(120_000);

interface MedusaVariant {
  id: string;
  sku: string;
  calculated_price: number;
}
interface MedusaProduct {
  id: string;
  handle: string;
  variants: MedusaVariant[];
}

describeInMedusa("the storefront's catalog through /graphql, against a real Medusa v1", () => {
  let medusa: TestMedusa;
  /** Between ordergate and Medusa: what ordergate asks Medusa for. */
  let recorder: RecordingProxy;
  let t: TestGateway;
  let regions: { id: string; name: string; currency_code: string; countries: { iso_2: string }[] }[];
  let eu: string;
  let na: string;

  beforeAll(async () => {
    medusa = await (await TestMedusa.create(TEST_JWT_SECRET)).start();
    recorder = await new RecordingProxy(medusa.url).start();
    // No catalog cache: every query here is answered by Medusa (the cache has tests of its own).
    t = await startTestGateway({ DATABASE_URL: medusa.databaseUrl, MEDUSA_URL: recorder.url, STORE_CACHE_TTL: "0" });
    regions = (await medusa.request("GET", "/store/regions")).json.regions;
    eu = regions.find((region) => region.name === "EU")!.id;
    na = regions.find((region) => region.name === "NA")!.id;
  });
  afterAll(async () => {
    await t?.close();
    await recorder?.stop();
    await medusa?.close();
  });

  /** Medusa's own answer for every product, priced for a region. */
  const medusaProducts = async (regionId?: string): Promise<MedusaProduct[]> =>
    (await medusa.request("GET", `/store/products?limit=100${regionId ? `&region_id=${regionId}` : ""}`)).json.products;

  const query = async <T = any>(text: string, variables?: Record<string, unknown>) => {
    const result = await t.graphql<T>(text, variables);
    expect(result.errors).toBeUndefined();
    return result.data!;
  };

  it("lists Medusa's regions with their currencies and countries, and finds one by id", async () => {
    const data = await query(`{ regions { id name currencyCode countries { code name } } }`);
    expect(data.regions).toEqual(
      regions.map((region) => ({
        id: region.id,
        name: region.name,
        currencyCode: region.currency_code,
        countries: region.countries.map((country: any) => ({ code: country.iso_2, name: country.display_name })),
      })),
    );
    const one = await query(
      `query($id: ID!) { region(id: $id) { name currencyCode } missing: region(id: "reg_nope") { id } }`,
      {
        id: na,
      },
    );
    expect(one).toEqual({ region: { name: "NA", currencyCode: "usd" }, missing: null });
  });

  it("prices every variant as Medusa calculates it for each region, and in another region when asked", async () => {
    const selection = `edges { node { handle variants { id sku price { amount currencyCode } other: price(regionId: $other) { amount currencyCode } } } }`;
    for (const [regionId, other, currency, otherCurrency] of [
      [eu, na, "eur", "usd"],
      [na, eu, "usd", "eur"],
    ] as const) {
      const data = await query(
        `query($region: ID, $other: ID) { products(first: 50, regionId: $region) { ${selection} } }`,
        {
          region: regionId,
          other,
        },
      );
      const [own, theirs] = [await medusaProducts(regionId), await medusaProducts(other)];
      const expected = (products: MedusaProduct[], sku: string) =>
        products.flatMap((product) => product.variants).find((variant) => variant.sku === sku)!.calculated_price;
      const variants = data.products.edges.flatMap((edge: any) => edge.node.variants);
      expect(variants).toHaveLength(own.flatMap((product) => product.variants).length);
      for (const variant of variants) {
        expect(variant.price).toEqual({ amount: expected(own, variant.sku), currencyCode: currency });
        expect(variant.other).toEqual({ amount: expected(theirs, variant.sku), currencyCode: otherCurrency });
      }
    }
    // The NA region's prices differ from the EU's: the comparison above could tell them apart.
    const [euPrices, naPrices] = [await medusaProducts(eu), await medusaProducts(na)];
    expect(euPrices[0]!.variants[0]!.calculated_price).not.toBe(naPrices[0]!.variants[0]!.calculated_price);
  });

  it("has no price without a region", async () => {
    const data = await query(`{ product(handle: "ref-t-shirt") { variants { price { amount } } } }`);
    expect(data.product.variants).toEqual([{ price: null }, { price: null }]);
  });

  it("pages through every product in Medusa's order, with cursors and the total", async () => {
    const everything = await medusaProducts();
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const data: any = await query(
        `query($after: String) { products(first: 5, after: $after) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }`,
        { after },
      );
      const { products } = data;
      expect(products.totalCount).toBe(everything.length);
      expect(products.pageInfo.hasPreviousPage).toBe(pages > 0);
      expect(products.pageInfo.startCursor).toBe(products.edges[0].cursor);
      seen.push(...products.edges.map((edge: any) => edge.node.id));
      pages += 1;
      if (!products.pageInfo.hasNextPage) break;
      after = products.pageInfo.endCursor;
    }
    expect(seen).toEqual(everything.map((product) => product.id));
    expect(pages).toBe(Math.ceil(everything.length / 5));
  });

  it("filters by search text, collection and category (with its children) as Medusa does", async () => {
    const handles = async (args: string) =>
      (await query(`{ products(first: 50, ${args}) { totalCount edges { node { handle } } } }`)).products.edges.map(
        (edge: any) => edge.node.handle,
      );
    expect(await handles(`query: "Mug 03"`)).toEqual(["mug-03"]);
    expect(await handles(`collectionId: "pcol_basics"`)).toEqual(["ref-t-shirt"]);
    // The t-shirt is in Shirts, a child of Apparel.
    expect(await handles(`categoryId: "pcat_apparel"`)).toEqual(["ref-t-shirt"]);
    const home = await handles(`categoryId: "pcat_home"`);
    expect(home).toHaveLength(11);
    expect(home.every((handle: string) => handle.startsWith("mug-"))).toBe(true);
    expect(await handles(`query: "no such thing anywhere"`)).toEqual([]);
  });

  it("finds a product by id or by handle, with its options, images and collection; unknown ones are null", async () => {
    const [shirt] = (await medusa.request("GET", "/store/products?handle=ref-t-shirt")).json.products;
    const selection = `id title handle description thumbnail options { title values } images { url } collection { id title handle }`;
    const data = await query(
      `query($id: ID) { byId: product(id: $id) { ${selection} } byHandle: product(handle: "ref-t-shirt") { ${selection} }
        noId: product(id: "prod_nope") { id } noHandle: product(handle: "nope") { id } }`,
      { id: shirt.id },
    );
    const expected = {
      id: shirt.id,
      title: "Reference T-Shirt",
      handle: "ref-t-shirt",
      description: shirt.description,
      thumbnail: "https://images.example/ref-t-shirt.png",
      options: [{ title: "Size", values: ["S", "M"] }],
      images: shirt.images.map((image: { url: string }) => ({ url: image.url })),
      collection: { id: "pcol_basics", title: "Basics", handle: "basics" },
    };
    expect(data).toEqual({ byId: expected, byHandle: expected, noId: null, noHandle: null });
  });

  it("asks Medusa only for the relations and fields the query selects", async () => {
    const asked = async (text: string) => {
      const requests = await recorder.during(() => query(text));
      const products = requests.filter((request) => request.startsWith("GET /store/products?"));
      expect(products).toHaveLength(1);
      return new URL(products[0]!.split(" ")[1]!, "http://medusa").searchParams;
    };
    const bare = await asked(`{ product(handle: "mug-02") { id title } }`);
    // Never no relation at all (Medusa 1.20 then miscounts a list): the collection, one join.
    expect(bare.get("expand")).toBe("collection");
    expect(bare.get("fields")!.split(",").sort()).toEqual(["id", "title"]);
    expect(bare.get("handle")).toBe("mug-02");

    const withVariants = await asked(`{ product(handle: "mug-02") { variants { sku } } }`);
    expect(withVariants.get("expand")).toBe("variants");

    const priced = await asked(
      `{ products(first: 3, regionId: "${eu}") { edges { node { handle images { url } options { title }
        variants { price { amount } } } } } }`,
    );
    expect(priced.get("expand")!.split(",").sort()).toEqual([
      "images",
      "options",
      "options.values",
      "variants",
      "variants.prices",
    ]);
    expect(priced.get("region_id")).toBe(eu);
    expect(priced.get("limit")).toBe("3");
    // Fragments count as selections too.
    const viaFragment = await asked(
      `{ product(handle: "mug-02") { ...Card } } fragment Card on Product { collection { title } thumbnail }`,
    );
    expect(viaFragment.get("expand")).toBe("collection");
    expect(viaFragment.get("fields")!.split(",").sort()).toEqual(["id", "thumbnail"]);
  });

  it("serves a products page of 10 with variants, prices and the region in at most 2 Medusa calls", async () => {
    const requests = await recorder.during(() =>
      query(
        `query($r: ID!) { region(id: $r) { currencyCode } products(first: 10, regionId: $r) { edges { node { id title
          variants { id title price { amount currencyCode } } } } } }`,
        { r: eu },
      ),
    );
    expect(requests.length).toBeLessThanOrEqual(2);
    expect(requests.filter((request) => request.startsWith("GET /store/products"))).toHaveLength(1);
  });

  it("batches products asked for by id in one request into one Medusa call, and de-duplicates them", async () => {
    const some = (await medusaProducts()).slice(0, 4);
    const aliases = some.map((product, index) => `p${index}: product(id: "${product.id}") { handle }`).join(" ");
    let data: any;
    const requests = await recorder.during(async () => {
      data = await query(`{ ${aliases} again: product(id: "${some[0]!.id}") { handle } }`);
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^GET \/store\/products\?/);
    expect(Object.values(data)).toEqual(
      [...some.map((product) => product.handle), some[0]!.handle].map((handle) => ({ handle })),
    );
  });

  it("batches the prices of variants asked for in another region into one Medusa call per region", async () => {
    const requests = await recorder.during(() =>
      query(
        `query($eu: ID, $na: ID) { products(first: 5, regionId: $eu) { edges { node { variants { na: price(regionId: $na) { amount } } } } } }`,
        { eu, na },
      ),
    );
    expect(requests.filter((request) => request.startsWith("GET /store/variants"))).toHaveLength(1);
    expect(requests.length).toBeLessThanOrEqual(3);
  });

  it("names Medusa's routes in its metrics, never the ids a client made up", async () => {
    const made = ["x1", "CART-1", "a_b"];
    for (const id of made) await query(`query($id: ID!) { cart(id: $id) { id } region(id: $id) { id } }`, { id });
    const metrics = (await t.request("GET", "/metrics")).text;
    const routes = new Set(
      [...metrics.matchAll(/ordergate_medusa_calls_total\{route="([^"]+)"/g)].map((match) => match[1]),
    );
    expect(routes).toContain("GET /store/carts/:id");
    expect(routes).toContain("GET /store/regions/:id");
    for (const route of routes) for (const id of made) expect(route).not.toContain(id);
  });

  it("sends Medusa nothing of what the client sent: no cookie, no forged address, no one's credentials", async () => {
    const ann = await medusa.registerCustomer("ann.headers@example.com", "correct horse");
    const forged = {
      cookie: "connect.sid=forged-session; other=1",
      "x-forwarded-for": "203.0.113.7",
      forwarded: "for=203.0.113.7",
      "x-publishable-api-key": "pk_forged",
      "x-request-id": "forged-request-id",
    };
    const query = `{ products(first: 2) { totalCount } cart(id: "cart_made_up") { id } }`;
    const from = recorder.headers.length;
    // A stranger with a forged bearer token, and a signed-in customer: catalog and cart reads are anonymous.
    for (const authorization of ["Bearer forged.jwt.token", `Bearer ${ann.token}`]) {
      const answer = await t.request("POST", "/graphql", { body: { query }, headers: { ...forged, authorization } });
      expect(answer.status).toBe(200);
      expect(answer.json.errors).toBeUndefined();
      expect(answer.json.data).toMatchObject({ products: { totalCount: expect.any(Number) }, cart: null });
    }
    const sent = recorder.headers.slice(from);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    for (const headers of sent) {
      for (const name of [...Object.keys(forged), "authorization"]) expect(headers[name]).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain("203.0.113.7");
    }
  });

  it("lists collections as a connection, in Medusa's order", async () => {
    const { collections } = (await medusa.request("GET", "/store/collections")).json;
    expect(collections.map((collection: { handle: string }) => collection.handle).sort()).toEqual([
      "basics",
      "kitchen",
    ]);
    const page = `query($after: String) { collections(first: 1, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id title handle } } } }`;
    const first = (await query(page)).collections;
    const second = (await query(page, { after: first.pageInfo.endCursor })).collections;
    for (const [index, { collections: answer }] of [{ collections: first }, { collections: second }].entries()) {
      const { id, title, handle } = collections[index];
      expect(answer).toMatchObject({ totalCount: 2, edges: [{ node: { id, title, handle } }] });
    }
    expect([first.pageInfo.hasNextPage, second.pageInfo.hasNextPage]).toEqual([true, false]);
  });
});
