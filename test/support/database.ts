import crypto from "node:crypto";
import { createPrismaClient, type Db } from "../../src/db/database";
import type { Client } from "pg";
import { withPgClient } from "../../src/db/pg-client";
import { TEMPLATE_DATABASE } from "./database-names";

function adminUrl(): string {
  const url = process.env.ORDERGATE_TEST_ADMIN_URL;
  if (!url)
    throw new Error("ORDERGATE_TEST_ADMIN_URL is not set: run the tests through jest (see jest.config.js globalSetup)");
  return url;
}

const withAdmin = <T>(work: (client: Client) => Promise<T>): Promise<T> => withPgClient(adminUrl(), work);

/** A new database on the suite's server, a copy of `template` if given; `drop` removes it. */
async function createDatabase(name: string, template?: string): Promise<{ url: string; drop(): Promise<void> }> {
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

const uniqueName = (prefix: string) => `${prefix}_${crypto.randomBytes(6).toString("hex")}`;

/** A fresh, migrated database for one test file (a copy of the template: fast). */
export function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createDatabase(uniqueName("ordergate_test"), TEMPLATE_DATABASE);
}

/** An empty database (for another program's own migrations: Medusa's), on the suite's server. */
export function createEmptyDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  return createDatabase(uniqueName(prefix));
}

/** A fresh database for the enclosing file or describe block, with a Prisma client on it; filled in before its tests. */
export function useTestDatabase(): { url: string; prisma: Db } {
  const fixture = {} as { url: string; prisma: Db; drop(): Promise<void> };
  beforeAll(async () => {
    const database = await createTestDatabase();
    Object.assign(fixture, { url: database.url, drop: database.drop, prisma: createPrismaClient(database.url) });
  });
  afterAll(async () => {
    await fixture.prisma?.$disconnect();
    await fixture.drop?.();
  });
  return fixture;
}
