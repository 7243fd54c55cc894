import fs from "node:fs";
import path from "node:path";
import { printSchemaSDL } from "../src/graphql/schema";

/** Writes schema.graphql from the Pothos schema; with --check, fails if the committed file is stale. */
const file = path.resolve(__dirname, "../schema.graphql");
const sdl = printSchemaSDL();
if (process.argv.includes("--check")) {
  const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  if (committed !== sdl) {
    process.stderr.write("schema.graphql is stale: run `npm run schema:print` and commit it.\n");
    process.exit(1);
  }
  process.stdout.write("schema.graphql is up to date\n");
} else {
  fs.writeFileSync(file, sdl);
  process.stdout.write(`wrote ${file}\n`);
}
