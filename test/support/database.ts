import crypto from "node:crypto";
import { Client } from "pg";
import { TEMPLATE_DATABASE } from "./database-names";

function adminUrl(): string {
  const url = process.env.ORDERGATE_TEST_ADMIN_URL;
  if (!url) throw new Error("ORDERGATE_TEST_ADMIN_URL is not set: run the tests through jest (see jest.config.js globalSetup)");
  return url;
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database for one test file (a copy of the template: fast). */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ordergate_test_${crypto.randomBytes(6).toString("hex")}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
