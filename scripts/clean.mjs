// Empties a build output folder before a build, so nothing of an old layout is left in it:
//   node scripts/clean.mjs dist
import { rmSync } from "node:fs";

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true });
