import { Prisma } from "../src/db/database";
import { EMAIL_SEARCH_KEY_SQL, emailSearchKey, normalizeEmail } from "../src/domain/email";
import { useTestDatabase } from "./support/database";

/**
 * claimOrdersByEmail narrows the orders in SQL by a key of the stored address, then compares the
 * one normalised form (trim + Unicode lower-case) in TypeScript. That is sound only if the SQL key
 * of any stored address equals emailSearchKey of its normalised form: checked here character by
 * character over all of Unicode, with the very expression claim-service builds (EMAIL_SEARCH_KEY_SQL).
 */
const database = useTestDatabase();
const { from, to, dropPattern } = EMAIL_SEARCH_KEY_SQL;

/** The SQL key of `column` (a text expression), exactly as claim-service writes it. */
const sqlKey = (column: Prisma.Sql) =>
  Prisma.sql`regexp_replace(translate(${column}, ${from}, ${to}), ${dropPattern}, '', 'g')`;

const isSurrogate = (codePoint: number) => codePoint >= 0xd800 && codePoint <= 0xdfff;
const tsKey = (text: string) => emailSearchKey(normalizeEmail(text));

/** Code point -> TS key, for every code point whose key is not empty. */
function nonEmptyTsKeys(): Map<number, string> {
  const keys = new Map<number, string>();
  for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
    if (isSurrogate(codePoint)) continue;
    const key = tsKey(String.fromCodePoint(codePoint));
    if (key !== "") keys.set(codePoint, key);
  }
  return keys;
}

it("gives each Unicode character the same key in SQL as in TypeScript", async () => {
  // One query over every code point PostgreSQL text can hold (no NUL, no surrogates).
  const [sql] = await database.prisma.$queryRaw<{ total: number; keys: Record<string, string> }[]>`
    SELECT count(*)::int AS "total",
           COALESCE(jsonb_object_agg(k."n"::text, k."key") FILTER (WHERE k."key" <> ''), '{}'::jsonb) AS "keys"
    FROM (SELECT s."n", ${sqlKey(Prisma.sql`chr(s."n")`)} AS "key"
          FROM generate_series(1, 1114111) AS s("n") WHERE s."n" NOT BETWEEN 55296 AND 57343) AS k`;
  expect(sql!.total).toBe(0x10ffff - 0x800);

  const ts = nonEmptyTsKeys();
  // NUL (which PostgreSQL cannot store) has no key either.
  expect(ts.has(0)).toBe(false);
  const sqlKeys = new Map(Object.entries(sql!.keys).map(([n, key]) => [Number(n), key]));
  const differences = [...new Set([...ts.keys(), ...sqlKeys.keys()])]
    .filter((n) => ts.get(n) !== sqlKeys.get(n))
    .map((n) => `U+${n.toString(16).toUpperCase().padStart(4, "0")}: ts ${ts.get(n)} sql ${sqlKeys.get(n)}`);
  expect(differences).toEqual([]);
  // Printable ASCII, and the two characters outside it that lower-case into it.
  expect(ts.size).toBe(94 + 2);
});

it("finds exactly U+0130 and U+212A outside ASCII whose lower case holds printable ASCII", () => {
  const found: string[] = [];
  for (let codePoint = 0x80; codePoint <= 0x10ffff; codePoint++) {
    if (isSurrogate(codePoint)) continue;
    if (/[\x21-\x7e]/.test(String.fromCodePoint(codePoint).toLowerCase())) found.push(codePoint.toString(16));
  }
  expect(found).toEqual(["130", "212a"]);
  expect(EMAIL_SEARCH_KEY_SQL.from).toContain("\u0130");
  expect(EMAIL_SEARCH_KEY_SQL.from).toContain("\u212A");
});

describe("whole addresses, whatever the collation", () => {
  const tricky = [
    "\u0130", // İ: i and a combining dot
    "\u212A", // Kelvin sign: k
    "\u212B", // Angstrom sign: å
    "ß",
    "ẞ",
    "Σ",
    "ΟΔΟΣ@example.com", // a final sigma, lower-cased by context
    "ＡＮＮ@ｅｘａｍｐｌｅ．ｃｏｍ", // fullwidth
    " \t\u00a0Ann.Work@Example.COM\u2028\ufeff", // white space around, Unicode's too
    "\u0130NC\u0130@EXAMPLE.COM",
    "\u212Aate@example.com",
    "ǅemal@example.com", // a title-case digraph
    "ﬀ@example.com",
    "ann\u200b@example.com", // zero-width space
    "Ⅻ@example.com",
    "élise@EXÄMPLE.COM",
    "a%_\\*@example.com",
  ];

  it("keys every tricky address in SQL as TypeScript keys its normalised form", async () => {
    const collations = await database.prisma.$queryRaw<{ name: string }[]>`
      SELECT c."collname" AS "name" FROM pg_collation AS c
      WHERE c."collname" IN ('default', 'C', 'POSIX', 'C.utf8', 'en_US.utf8', 'tr_TR.utf8', 'und-x-icu', 'tr-x-icu')
        AND c."collencoding" IN (-1, (SELECT d."encoding" FROM pg_database AS d
                                      WHERE d."datname" = current_database()))`;
    expect(collations.map((c) => c.name)).toEqual(expect.arrayContaining(["default", "C"]));
    const expected = tricky.map(tsKey);
    for (const { name } of collations) {
      const collated = Prisma.sql`(t."address" COLLATE ${Prisma.raw(`"${name}"`)})`;
      const rows = await database.prisma.$queryRaw<{ key: string }[]>`
        SELECT ${sqlKey(collated)} AS "key"
        FROM unnest(${tricky}::text[]) WITH ORDINALITY AS t("address", "position") ORDER BY t."position"`;
      expect({ name, keys: rows.map((row) => row.key) }).toEqual({ name, keys: expected });
    }
    // The keys themselves, as the search uses them.
    expect(expected.slice(0, 10)).toEqual([
      "i",
      "k",
      "",
      "",
      "",
      "",
      "@example.com",
      "@",
      "ann.work@example.com",
      "inci@example.com",
    ]);
  });
});
