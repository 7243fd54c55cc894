import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import { JWT_SECRET_FILE, loadOrCreateJwtSecret } from "../src/app/jwt-secret";
import { createLogger } from "../src/lib/logger";
import { startTestGateway } from "./support/gateway";
import { claimScenario, seedScenario } from "./support/scenarios";

/** Without JWT_SECRET, tokens are signed with a random secret kept in DATA_DIR, never one in the code. */
const logger = createLogger("silent");
let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-jwt-secret-"));
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

it("makes a random, owner-only secret once and reads it back afterwards", async () => {
  const first = await loadOrCreateJwtSecret(dataDir, logger);
  const file = path.join(dataDir, JWT_SECRET_FILE);
  expect(first.length).toBeGreaterThanOrEqual(64);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(await loadOrCreateJwtSecret(dataDir, logger)).toBe(first);

  const other = fs.mkdtempSync(path.join(os.tmpdir(), "ordergate-jwt-secret-"));
  try {
    expect(await loadOrCreateJwtSecret(other, logger)).not.toBe(first);
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

it("makes one secret when several starts race for it", async () => {
  const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateJwtSecret(dataDir, logger)));
  expect(new Set(secrets).size).toBe(1);
});

it("tightens a loosened file and refuses one that holds no secret", async () => {
  await loadOrCreateJwtSecret(dataDir, logger);
  const file = path.join(dataDir, JWT_SECRET_FILE);
  fs.chmodSync(file, 0o644);
  await loadOrCreateJwtSecret(dataDir, logger);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  fs.writeFileSync(file, "short\n");
  await expect(loadOrCreateJwtSecret(dataDir, logger)).rejects.toThrow("holds no usable secret");
});

it("signs tokens that survive a restart on the same DATA_DIR and are refused elsewhere", async () => {
  const login = async (env: Record<string, string>) => {
    const gateway = await startTestGateway(env);
    try {
      await seedScenario(gateway.prisma, claimScenario);
      const { access_token: token } = (
        await gateway.request("POST", "/store/auth/token", {
          body: { email: "ann@example.com", password: "correct horse" },
        })
      ).json;
      return { gateway, token: token as string };
    } catch (error) {
      await gateway.close();
      throw error;
    }
  };
  // JWT_SECRET empty = unset; the helper would otherwise set a test secret.
  const first = await login({ JWT_SECRET: "", DATA_DIR: dataDir });
  const secret = fs.readFileSync(path.join(dataDir, JWT_SECRET_FILE), "utf8").trim();
  expect(() => jwt.verify(first.token, secret)).not.toThrow();
  expect(() => jwt.verify(first.token, "ordergate-development-secret-do-not-use-in-production")).toThrow();
  await first.gateway.close();

  const second = await login({ JWT_SECRET: "", DATA_DIR: dataDir });
  try {
    expect((await second.gateway.request("GET", "/store/auth", { bearer: first.token })).status).toBe(200);
  } finally {
    await second.gateway.close();
  }
});
