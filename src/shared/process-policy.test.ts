import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

const POLICY = new URL("./process-policy.js", import.meta.url).href;
const LOGGER = new URL("./logger.js", import.meta.url).href;

/** Runs `body` in a fresh Node process that installed the policy first; returns how it ended. */
function runWithPolicy(body: string) {
  const script = `
    import { Registry } from "prom-client";
    import { installProcessPolicy } from ${JSON.stringify(POLICY)};
    import { createLogger } from ${JSON.stringify(LOGGER)};
    const registry = new Registry();
    installProcessPolicy(createLogger("policy-test"), registry);
    const counted = async () => (await registry.getSingleMetricAsString("flock_unhandled_rejections_total"));
    ${body}
  `;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 10_000,
    cwd: new URL("../../../", import.meta.url).pathname,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

describe("process policy", () => {
  it("an unhandled rejection is logged and counted, and the process keeps serving", () => {
    const { code, out } = runWithPolicy(`
      // The pattern of issue 13: a promise started early, its consumer failed first.
      const prefetch = new Promise((_, reject) => setTimeout(() => reject(new Error("etcd went away")), 10));
      void prefetch;
      setTimeout(async () => { console.log("still serving", (await counted()).split("\\n").pop()); }, 100);
    `);
    assert.equal(code, 0, out);
    assert.match(out, /unhandled promise rejection/);
    assert.match(out, /etcd went away/);
    assert.match(out, /still serving flock_unhandled_rejections_total 1/);
  });

  it("an uncaught exception is logged and ends the process with code 1", () => {
    const { code, out } = runWithPolicy(`
      setTimeout(() => { throw new Error("broken invariant"); }, 10);
      setTimeout(() => console.log("should not get here"), 500);
    `);
    assert.equal(code, 1, out);
    assert.match(out, /uncaught exception; exiting/);
    assert.match(out, /broken invariant/);
    assert.doesNotMatch(out, /should not get here/);
  });
});
