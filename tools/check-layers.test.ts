import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

/** The checker (plain JavaScript, run by `npm run lint`); this test runs from build/tools/. */
const CHECKER = fileURLToPath(new URL("../../tools/check-layers.mjs", import.meta.url));

const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** Writes a synthetic repository (path → source) and runs the checker on it. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  const root = mkdtempSync(join(tmpdir(), "flock-layers-"));
  roots.push(root);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), source);
  }
  const result = spawnSync(process.execPath, [CHECKER, root], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

const CLEAN = {
  "src/gen/flock/posts.ts": "export interface Post { id: string }\n",
  "src/shared/ids.ts":
    'import type { Post } from "../gen/flock/posts.js";\nexport const id = (p: Post) => p.id;\n',
  "src/web/app.ts": 'import { id } from "../shared/ids.js";\nexport const app = id;\n',
  "src/web/app.test.ts":
    'import { it } from "node:test";\nimport { fake } from "../../test/fixtures/fake.js";\nit("runs", fake);\n',
  "src/backend/server.ts": 'import { id } from "../shared/ids.js";\nexport const server = id;\n',
  "src/cmd/web.ts": 'import { app } from "../web/app.js";\nexport default app;\n',
  "test/fixtures/fake.ts": "export const fake = () => undefined;\n",
};

describe("the layer check (tools/check-layers.mjs)", () => {
  it("passes a tree whose imports all go downward", () => {
    const { status, output } = check(CLEAN);
    assert.equal(status, 0, output);
  });

  it("reports an upward import and a sideways one between tiers", () => {
    const { status, output } = check({
      ...CLEAN,
      "src/shared/ids.ts": 'import { app } from "../web/app.js";\nexport const id = app;\n',
      "src/web/app.ts": 'import { server } from "../backend/server.js";\nexport const app = server;\n',
    });
    assert.equal(status, 1);
    assert.match(output, /src\/shared\/ids\.ts: imports src\/web\/app\.ts \(shared may not import web\)/);
    assert.match(
      output,
      /src\/web\/app\.ts: imports src\/backend\/server\.ts \(web may not import backend\)/,
    );
  });

  it("reports a folder cycle between services, node:test in product code and imports of test/", () => {
    const { status, output } = check({
      ...CLEAN,
      "src/services/posts/service.ts":
        'import { follows } from "../graph/service.js";\nexport const feed = follows;\n',
      "src/services/graph/service.ts":
        'import { feed } from "../posts/service.js";\nimport { it } from "node:test";\nexport const follows = [feed, it];\n',
      "src/backend/server.ts":
        'import { fake } from "../../test/fixtures/fake.js";\nexport const server = fake;\n',
    });
    assert.equal(status, 1);
    assert.match(output, /folder cycle: services\/(graph|posts) → services\/(graph|posts) → /);
    assert.match(output, /src\/services\/graph\/service\.ts: imports node:test/);
    assert.match(output, /src\/backend\/server\.ts: imports test\/fixtures\/fake\.ts, outside src\//);
  });
});
