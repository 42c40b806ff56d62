// Checks that imports in src/ only go downward through the tiers (README "Layout"):
//
//   cmd → launcher | frontdoor | web | backend → services → grpc | storage → shared → gen
//   (and launcher → frontdoor: the launcher runs the front door, HAProxy, with its configuration)
//
// It reads every import of every .ts file under src/ (with TypeScript's own pre-parser), maps
// each file to its layer (the first folder under src/), and reports every import a layer may
// not make, every folder cycle, and every product file that imports node:test or code outside
// src/. Unit tests (*.test.ts) may also import test/ fixtures. Exits 1 when anything is found.
//
//   node tools/check-layers.mjs [root]      (root: the repository, default the current directory)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** What each layer may import besides itself. Anything not listed is upward or sideways. */
export const ALLOWED = {
  gen: [],
  shared: ["gen"],
  storage: ["shared", "gen"],
  grpc: ["shared", "gen"],
  services: ["storage", "grpc", "shared", "gen"],
  web: ["grpc", "shared", "gen"],
  backend: ["services", "storage", "grpc", "shared", "gen"],
  frontdoor: ["shared", "gen"],
  launcher: ["frontdoor", "grpc", "shared", "gen"],
  cmd: ["launcher", "frontdoor", "web", "backend", "services", "storage", "grpc", "shared", "gen"],
};

/** Every problem found under `root`, as lines of text; empty when the layering holds. */
export function checkLayers(root) {
  const src = join(root, "src");
  const problems = [];
  const edges = new Map(); // folder unit → folder units it imports (product files only)
  for (const file of tsFiles(src)) {
    const from = posix(relative(root, file));
    const isTest = from.endsWith(".test.ts");
    const layer = layerOf(from);
    if (layer === undefined) {
      problems.push(`${from}: not in a layer (put it in one of ${Object.keys(ALLOWED).join(", ")})`);
      continue;
    }
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName: spec } of importedFiles) {
      if (spec === "node:test" && !isTest) problems.push(`${from}: imports node:test (only *.test.ts may)`);
      if (!spec.startsWith(".")) continue;
      const to = posix(relative(root, resolve(dirname(file), spec))).replace(/\.js$/, ".ts");
      if (!to.startsWith("src/")) {
        if (!(isTest && to.startsWith("test/")))
          problems.push(`${from}: imports ${to}, outside src/ (the product imports only the product)`);
        continue;
      }
      const target = layerOf(to);
      if (target === undefined || (target !== layer && !ALLOWED[layer].includes(target))) {
        problems.push(
          `${from}: imports ${to} (${layer} may not import ${target ?? "files outside a layer"})`,
        );
        continue;
      }
      if (!isTest) {
        const [a, b] = [unitOf(from), unitOf(to)];
        if (a !== b) edges.set(a, new Set([...(edges.get(a) ?? []), b]));
      }
    }
  }
  for (const cycle of cycles(edges)) problems.push(`folder cycle: ${[...cycle, cycle[0]].join(" → ")}`);
  return problems;
}

/** "src/web/api/posts.ts" → "web"; "src/storage/etcd/keys.ts" → "storage"; undefined outside a layer. */
function layerOf(path) {
  const [top, layer, ...rest] = path.split("/");
  if (top !== "src" || rest.length === 0) return undefined;
  return Object.hasOwn(ALLOWED, layer) ? layer : undefined;
}

/** The folder a file counts in for cycles: its layer, each service on its own. */
function unitOf(path) {
  const parts = path.split("/");
  if (parts[1] === "services" && parts.length > 3) return `services/${parts[2]}`;
  return parts[1];
}

/** Strongly connected groups of more than one folder (Tarjan), each as a list. */
function cycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.reverse());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function posix(path) {
  return path.split(sep).join("/");
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const root = resolve(process.argv[2] ?? ".");
  const problems = checkLayers(root);
  for (const line of problems) console.error(`layers: ${line}`);
  if (problems.length > 0) {
    console.error(`layers: ${problems.length} import(s) against the layering (see tools/check-layers.mjs)`);
    process.exit(1);
  }
  console.log("layers: every import in src/ goes downward");
}
