import fs from "node:fs";
import path from "node:path";

/**
 * A migration that ordergate's own history and the history beside Medusa share says so ("The same
 * in both histories"): its two copies must then be the same, byte for byte, file for file.
 */
const root = path.resolve(__dirname, "..");
const OWN = path.join(root, "prisma/migrations");
const BESIDE_MEDUSA = path.join(root, "prisma/medusa-migrations");
const SAME_IN_BOTH = "The same in both histories";

const directories = (dir: string) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

const inBoth = directories(OWN).filter((name) => directories(BESIDE_MEDUSA).includes(name));
/** Those whose SQL, in either copy, says it is the same in both. */
const shared = inBoth.filter((name) =>
  [OWN, BESIDE_MEDUSA].some((history) => {
    const sql = path.join(history, name, "migration.sql");
    return fs.existsSync(sql) && fs.readFileSync(sql, "utf8").includes(SAME_IN_BOTH);
  }),
);

it("finds the migrations both histories share, the claim lifecycle among them", () => {
  expect(shared).toEqual(expect.arrayContaining(["20261207180000_claim_lifecycle"]));
});

it.each(shared)("keeps %s byte-identical in both histories", (name) => {
  const own = path.join(OWN, name);
  const besideMedusa = path.join(BESIDE_MEDUSA, name);
  expect(filesUnder(besideMedusa)).toEqual(filesUnder(own));
  for (const file of filesUnder(own)) {
    const a = fs.readFileSync(path.join(own, file));
    const b = fs.readFileSync(path.join(besideMedusa, file));
    expect({ file, identical: a.equals(b) }).toEqual({ file, identical: true });
  }
});
