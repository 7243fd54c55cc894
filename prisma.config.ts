import { defineConfig } from "prisma/config";

// Only the Prisma CLI reads this (generate; `migrate deploy` where the native engine can be
// downloaded). The gateway applies prisma/migrations itself at start (src/db/migrate.ts).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/ordergate" },
});
