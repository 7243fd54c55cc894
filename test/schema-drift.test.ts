import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { createTestDatabase } from "./support/database";

const ROOT = path.resolve(__dirname, "..");
const run = promisify(execFile);

/** The hand-written migrations must build exactly what prisma/schema.prisma describes. */
it("prisma/migrations and prisma/schema.prisma agree (Prisma's own diff is empty)", async () => {
  const database = await createTestDatabase();
  try {
    const { stdout } = await run(
      path.join(ROOT, "node_modules/.bin/tsx"),
      [path.join(ROOT, "scripts/schema-diff.mts")],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: database.url },
      },
    );
    expect(stdout.trim()).toBe("-- This is an empty migration.");
  } finally {
    await database.drop();
  }
});
