// Copies the web tier's templates and static files next to the compiled code.
import { cpSync, existsSync } from "node:fs";

for (const dir of ["src/web/views", "src/web/static"]) {
  if (existsSync(dir)) cpSync(dir, dir.replace(/^src/, "dist"), { recursive: true });
}
