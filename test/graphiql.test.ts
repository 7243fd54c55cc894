import { parse, validate } from "graphql";
import type { Browser, Page } from "playwright-core";
import { GRAPHIQL_OPTIONS } from "../src/graphql/graphiql";
import { schema } from "../src/graphql/schema";
import { chromiumInstalled, launchChromium, localOnlyContext } from "./support/browser";
import { startTestGateway, type TestGateway } from "./support/gateway";

/**
 * GraphiQL's walk-through tabs run whatever their editor holds, in a real browser, Run pressed at
 * once (before the editor's debounced parse: a preset operation name was then sent with the new text).
 */
// Without Chromium (a developer machine), say why and skip; CI installs it and must run these.
const available = chromiumInstalled() || process.env.CI === "true";
if (!available)
  console.warn("skipping the GraphiQL browser tests: Chromium is not installed (apt-get install -y chromium)");
const describeInBrowser = available ? describe : describe.skip;

jest.setTimeout(60_000);

let t: TestGateway;
let browser: Browser;
beforeAll(async () => {
  t = await startTestGateway();
  if (available) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function openGraphiQL(): Promise<{ page: Page; outside: string[] }> {
  const { context, outside } = await localOnlyContext(browser);
  const page = await context.newPage();
  await page.goto(`${t.url}/graphql`);
  await page.locator(".graphiql-container").first().waitFor();
  await page.getByText("logIn(email").first().waitFor();
  return { page, outside };
}

/** Replaces the query editor's text, as a person selecting all and typing would. */
async function typeQuery(page: Page, query: string): Promise<void> {
  await page.locator(".graphiql-query-editor .monaco-editor").first().click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(query);
}

describeInBrowser("GraphiQL's walk-through tabs", () => {
  it.each([
    ["an anonymous query", "{ __typename }", /"__typename":\s+"Query"/],
    ["a query named otherwise", "query Other { __typename }", /"__typename":\s+"Query"/],
  ])("run %s typed over the first tab's", async (_name, query, expected) => {
    const { page, outside } = await openGraphiQL();
    try {
      await typeQuery(page, query);
      await page.locator(".graphiql-execute-button").click();
      // An answer, whichever it is.
      await page
        .locator(".result-window")
        .getByText(/"(data|errors)"/)
        .first()
        .waitFor();
      const result = await page.locator(".result-window").innerText();
      expect(result).not.toMatch(/Cannot infer operation|Unknown operation/);
      expect(result).toMatch(expected);
      expect(outside).toEqual([]);
    } finally {
      await page.context().close();
    }
  });
});

describe("GraphiQL's walk-through documents", () => {
  it("are valid against the schema, every operation of every tab", () => {
    for (const tab of GRAPHIQL_OPTIONS.defaultTabs!) {
      const document = parse(tab.query!);
      expect(validate(schema, document)).toEqual([]);
      if (tab.variables) expect(() => JSON.parse(tab.variables!)).not.toThrow();
    }
    // The checkout's steps, by name.
    const checkout = GRAPHIQL_OPTIONS.defaultTabs!.find((tab) => tab.query!.includes("completeCart"))!;
    const names = parse(checkout.query!).definitions.flatMap((definition) =>
      definition.kind === "OperationDefinition" && definition.name ? [definition.name.value] : [],
    );
    expect(names).toEqual(["Catalog", "CreateCart", "Address", "ShippingOptions", "Ship", "Pay", "Complete"]);
  });
});
