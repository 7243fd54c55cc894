import { kdf, verify } from "scrypt-kdf";

/**
 * scrypt-kdf 2.0.1, the version and parameters Medusa v1 uses:
 * `Scrypt.kdf(password, { logN: 15, r: 8, p: 1 })`, stored base64.
 */
const MEDUSA_SCRYPT_PARAMS = { logN: 15, r: 8, p: 1 };

export async function hashPassword(password: string): Promise<string> {
  const key = await kdf(password, MEDUSA_SCRYPT_PARAMS);
  return key.toString("base64");
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(Buffer.from(passwordHash, "base64"), password);
  } catch {
    return false; // not a scrypt-kdf key: never matches
  }
}
