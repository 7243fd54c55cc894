/**
 * Prisma's own schema diff, through its WebAssembly schema engine (the native one cannot be
 * downloaded here). Prints the SQL that would take the database at DATABASE_URL to
 * prisma/schema.prisma; empty output means they agree. Used to write a new migration:
 *   DATABASE_URL=postgres://... npx tsx scripts/schema-diff.mts > prisma/migrations/<stamp>_<name>/migration.sql
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

export async function diffDatabaseToSchema(databaseUrl: string, schemaFile: string): Promise<string> {
  // The engine reports a Rust panic's message here before it throws.
  let panic = "";
  (globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY = {
    set_message: (message: string) => (panic = message),
  };
  const bindingsPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const bindings = await import(bindingsPath);
  const wasm = fs.readFileSync(path.join(path.dirname(bindingsPath), "schema_engine_bg.wasm"));
  const { instance } = await WebAssembly.instantiate(wasm, { "./schema_engine_bg.js": bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();

  const { PrismaPg } = require("@prisma/adapter-pg");
  const { bindMigrationAwareSqlAdapterFactory } = require("@prisma/driver-adapter-utils");
  const pg = require("pg");
  // The engine reads PostgreSQL's internal `"char"` catalog columns (OID 18) as its Character
  // type, which @prisma/adapter-pg cannot report. The catalog queries never return uuid values,
  // so OID 18 travels as uuid (a plain string to pg) and uuid columns come back as Character.
  const PG_CHAR = 18,
    PG_UUID = 2950,
    UUID_COLUMN = 15,
    CHARACTER_COLUMN = 6;
  const relabel = (result: { fields?: { dataTypeID: number }[] } | undefined) => {
    for (const field of result?.fields ?? []) if (field.dataTypeID === PG_CHAR) field.dataTypeID = PG_UUID;
    return result;
  };
  class CharAsUuidClient extends pg.Client {
    query(...args: unknown[]) {
      const callback = args.at(-1);
      if (typeof callback === "function") {
        args[args.length - 1] = (error: unknown, result: never) => callback(error, relabel(result));
        return super.query(...(args as [string]));
      }
      return super.query(...(args as [string])).then(relabel);
    }
  }
  type ResultSet = { columnTypes: number[] };
  type Queryable = { queryRaw(query: unknown): Promise<ResultSet> };
  const withCharacterColumns = <T extends Queryable>(queryable: T): T => {
    const queryRaw = queryable.queryRaw.bind(queryable);
    queryable.queryRaw = async (query) => {
      const result = await queryRaw(query);
      result.columnTypes = result.columnTypes.map((type) => (type === UUID_COLUMN ? CHARACTER_COLUMN : type));
      return result;
    };
    return queryable;
  };
  const factory = new PrismaPg({ connectionString: databaseUrl, Client: CharAsUuidClient });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = withCharacterColumns(await connect());
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args: unknown[]) => withCharacterColumns(await startTransaction(...args));
    return adapter;
  };
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const files = [{ path: schemaFile, content: fs.readFileSync(schemaFile, "utf8") }];
  const engine = await bindings.SchemaEngine.new(
    { datamodels: files.map((f) => [f.path, f.content]) },
    () => {},
    adapter,
  );
  try {
    const result = await engine.diff({
      from: { tag: "schemaDatasource", files, configDir: path.dirname(schemaFile) },
      to: { tag: "schemaDatamodel", files },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.stdout ?? "";
  } catch (error) {
    throw panic ? new Error(`Prisma schema engine panicked: ${panic}`) : error;
  } finally {
    engine.free();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("set DATABASE_URL to a database with the migrations applied");
  process.stdout.write(await diffDatabaseToSchema(url, path.resolve("prisma/schema.prisma")));
  process.exit(0);
}
