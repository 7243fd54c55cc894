import { SeedError } from "../services/seed-service";
import { runCommand, withStartDatabase } from "./command";
import { loadSeedFile } from "./seed-file";

/** `npm run seed -- FILE.json`: same settings and database as `npm start`, running or not. */
async function main(): Promise<number> {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    process.stderr.write("usage: npm run seed -- FILE.json\n");
    return 2;
  }
  return withStartDatabase(async (prisma, kind) => {
    if (kind === "medusa") {
      process.stderr.write(
        "seed refused, nothing was written: DATABASE_URL is a Medusa v1 store's database, " +
          "whose customers and orders are Medusa's to make\n",
      );
      return 1;
    }
    try {
      const result = await loadSeedFile(prisma, file);
      process.stdout.write(`seeded ${result.customers} customers and ${result.orders} orders from ${file}\n`);
      return 0;
    } catch (error) {
      if (!(error instanceof SeedError)) throw error;
      process.stderr.write(`seed refused, nothing was written:\n${error.message}\n`);
      return 1;
    }
  });
}

runCommand("seed", main);
