import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../lib/logger";

/** Where the secret made when `JWT_SECRET` is unset is kept (owner-only), so tokens outlive a restart. */
export const JWT_SECRET_FILE = "jwt-secret";

/**
 * The secret in `DATA_DIR/jwt-secret`, made (48 random bytes) on first start. Never one written in
 * the code: anyone could forge any customer's token with that. Instances sharing `DATA_DIR` share it.
 */
export async function loadOrCreateJwtSecret(dataDir: string, logger: Logger): Promise<string> {
  const file = path.join(dataDir, JWT_SECRET_FILE);
  await fs.mkdir(dataDir, { recursive: true });
  try {
    await fs.writeFile(file, `${crypto.randomBytes(48).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
    logger.info("JWT_SECRET is not set: made a random one; set JWT_SECRET to share it with Medusa or other instances", {
      file,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  // Owner-only, even if someone loosened it.
  await fs.chmod(file, 0o600);
  const secret = (await fs.readFile(file, "utf8")).trim();
  if (secret.length < 16)
    throw new Error(
      `${file} holds no usable secret (under 16 characters): delete it to make a new one, or set JWT_SECRET`,
    );
  return secret;
}
