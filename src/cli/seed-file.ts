import fs from "node:fs/promises";
import type { Db } from "../db/database";
import { loadSeed, parseSeedFile, SeedError, type SeedResult } from "../services/seed-service";

/** Reads, checks and loads a seed file (design.md §6 format). */
export async function loadSeedFile(prisma: Db, file: string): Promise<SeedResult> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    throw new SeedError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new SeedError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return loadSeed(prisma, parseSeedFile(data));
}
