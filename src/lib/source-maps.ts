import nodeModule from "node:module";

/** Node.js 22.14 / 23.7 and later: source maps for some modules only (absent from Node.js 20's types). */
type SetSourceMapsSupport = (enabled: boolean, options: { nodeModules: boolean; generatedCode: boolean }) => void;

/**
 * Stack traces name the TypeScript source of ordergate's own code (its compiled files carry source
 * maps), and only its own: Node's `--enable-source-maps` reads and keeps the maps of every package
 * loaded as well (Prisma's client has a 1 MB one): 14 MB more in a bare process that loads the
 * gateway's modules, 4-6 MB more in each of its processes when ready. src/main.ts imports this
 * first, before any module whose map it should read. Node.js before 22.14 (and 23.7) cannot leave
 * packages out: there, every module's map is read, as with the option.
 */
const setSourceMapsSupport = (nodeModule as unknown as { setSourceMapsSupport?: SetSourceMapsSupport })
  .setSourceMapsSupport;
if (setSourceMapsSupport) setSourceMapsSupport(true, { nodeModules: false, generatedCode: false });
else process.setSourceMapsEnabled(true);
