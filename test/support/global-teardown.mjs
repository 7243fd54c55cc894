/** Closes the test PostgreSQL process's stdin: it stops the server and removes its data. */
export default async function globalTeardown() {
  const child = globalThis.__ORDERGATE_TEST_POSTGRES__;
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once("exit", resolve);
    child.stdin.end();
  });
}
