// Copies the web tier's templates and static files next to the compiled code of a build:
//   node scripts/copy-assets.mjs dist        (the product build, tsconfig.json)
//   node scripts/copy-assets.mjs build/src   (the test and tools build, tsconfig.test.json)
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2] ?? "dist";
for (const dir of ["web/views", "web/static"]) {
  const from = join("src", dir);
  if (existsSync(from)) cpSync(from, join(out, dir), { recursive: true });
}
