import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { withPgClient } from "../../src/db/pg-client";

const run = promisify(execFile);

/**
 * Everything PostgreSQL knows about one schema's objects, as text: tables and their columns
 * (types, defaults, nullability), constraints, indexes, every trigger (foreign keys that point
 * into the schema from elsewhere leave internal triggers here, which pg_dump does not show),
 * sequences, types, functions and privileges. Two snapshots are equal when nothing in the
 * schema was created, altered or dropped.
 */
export async function catalogSnapshot(url: string, schema: string): Promise<string> {
  return withPgClient(url, async (client) => {
    const parts: string[] = [];
    const add = async (title: string, sql: string) => {
      const { rows } = await client.query(sql, [schema]);
      parts.push(`## ${title}`, ...rows.map((row) => JSON.stringify(row)));
    };
    await add(
      "relations",
      `SELECT c.relname, c.relkind, c.relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1`,
    );
    await add(
      "columns",
      `SELECT table_name, column_name, data_type, udt_schema, udt_name, is_nullable, column_default, character_maximum_length
       FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    );
    await add(
      "constraints",
      `SELECT c.conrelid::regclass::text AS rel, c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 ORDER BY 1, 2`,
    );
    await add("indexes", `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2`);
    await add(
      "triggers",
      `SELECT t.tgrelid::regclass::text AS rel, t.tgname, t.tgisinternal, t.tgfoid::regproc::text AS fn FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1, 2`,
    );
    await add(
      "types",
      `SELECT t.typname, t.typtype, array_to_string(array(SELECT enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), ',') AS labels FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 ORDER BY 1`,
    );
    await add(
      "functions",
      `SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, md5(p.prosrc) AS body, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1, 2`,
    );
    return parts.join("\n");
  });
}

/**
 * `pg_dump --schema-only` of one schema, where this machine's pg_dump is of the server's major
 * version (Debian's client against Debian's server); undefined otherwise (pg_dump refuses newer
 * servers, and the embedded server has none of its own).
 */
export async function pgDumpSchema(url: string, schema: string): Promise<string | undefined> {
  let clientMajor: number;
  try {
    const { stdout } = await run("pg_dump", ["--version"]);
    clientMajor = Number(/(\d+)\.\d+/.exec(stdout)?.[1]);
  } catch {
    return undefined;
  }
  const serverMajor = await withPgClient(
    url,
    async (client) => Number((await client.query("SHOW server_version_num")).rows[0].server_version_num) / 10000,
  );
  if (Math.floor(serverMajor) !== clientMajor) return undefined;
  const { stdout } = await run("pg_dump", ["--schema-only", `--schema=${schema}`, "--dbname", url], {
    maxBuffer: 64 * 1024 * 1024,
  });
  // The dump's header names the versions and a restrict key that changes per run.
  return stdout.replace(/^\\(un)?restrict .*$/gm, "");
}
