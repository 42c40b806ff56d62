import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { findEtcdBinary } from "../../src/launcher/etcd-cluster.js";
import { loadConfig } from "../../src/shared/config.js";

/**
 * A schema check of the multi-host example in deploy/: env files are KEY=VALUE and name only
 * variables their program reads, the hosts agree with each other (addresses, cluster
 * membership, TLS), and the systemd units parse and start files that exist in this build.
 */
/** The repository: this file runs from build/test/integration/. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DEPLOY = join(ROOT, "deploy");
/** Where the units expect things on a host, and where they are in this repository. */
const INSTALL_DIR = "/opt/flock";

type Env = Record<string, string>;

function parseEnvFile(path: string): Env {
  const env: Env = {};
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const where = `${basename(path)}:${i + 1}`;
      if (line.trim() === "" || line.startsWith("#")) return;
      const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      assert.ok(match, `${where}: expected KEY=VALUE, got "${line}"`);
      const [, key, value] = match;
      assert.ok(!(key! in env), `${where}: ${key} set twice`);
      assert.doesNotMatch(
        value!,
        /^\s|\s$|^["']/,
        `${where}: no quotes or surrounding spaces (systemd keeps them)`,
      );
      env[key!] = value!;
    });
  return env;
}

interface Unit {
  sections: Map<string, [string, string][]>;
}

function parseUnit(path: string): Unit {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const where = `${basename(path)}:${i + 1}`;
      if (line.trim() === "" || /^[#;]/.test(line)) return;
      const section = /^\[([A-Za-z]+)\]$/.exec(line);
      if (section) {
        assert.ok(!sections.has(section[1]!), `${where}: section [${section[1]}] twice`);
        sections.set(section[1]!, (current = []));
        return;
      }
      const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
      assert.ok(pair, `${where}: expected Key=Value, got "${line}"`);
      assert.ok(current, `${where}: ${pair[1]} outside any section`);
      current.push([pair[1]!, pair[2]!]);
    });
  return { sections };
}

const values = (unit: Unit, section: string, key: string) =>
  (unit.sections.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);

/** Every variable loadConfig reads, found by handing it an environment that records each lookup. */
function configVariables(): Set<string> {
  const seen = new Set<string>();
  loadConfig(
    new Proxy({} as Env, {
      get: (_target, name) => {
        if (typeof name === "string") seen.add(name);
        return undefined;
      },
    }),
  );
  return seen;
}

const envFiles = (dir: string) =>
  readdirSync(join(DEPLOY, dir))
    .filter((f) => f.endsWith(".env"))
    .sort()
    .map((f) => ({ name: f.replace(/\.env$/, ""), env: parseEnvFile(join(DEPLOY, dir, f)) }));

describe("deploy/: schema check of the multi-host example", () => {
  const flock = envFiles("env");
  const etcd = envFiles("etcd");
  const common = flock.find((f) => f.name === "common")!.env;
  const hosts = (role: string) => flock.filter((f) => f.name.startsWith(`${role}-`) || f.name === role);

  it("Flock env files name only variables src/shared/config.ts reads, and parse with it", () => {
    const known = configVariables();
    assert.ok(
      known.has("ETCD_ENDPOINTS") && known.has("GRPC_TLS_CA_FILE"),
      "the variable list is discovered",
    );
    assert.ok(common, "common.env exists");
    for (const { name, env } of flock) {
      for (const key of Object.keys(env))
        assert.ok(known.has(key), `${name}.env: ${key} is not a Flock setting`);
      if (name === "common") continue;
      for (const key of Object.keys(env))
        assert.ok(!(key in common), `${name}.env repeats ${key} from common.env`);
      const config = loadConfig({ ...common, ...env });
      assert.equal(config.storage, "etcd");
    }
    assert.deepEqual(
      hosts("backend").length > 1 && hosts("web").length > 1 && hosts("front-door").length,
      1,
      "several backends, several web replicas, one front door",
    );
  });

  it("the hosts agree: BACKEND_ADDRS and WEB_ADDRS are the hosts' own addresses, TLS is complete", () => {
    const base = loadConfig(common);
    const backends = hosts("backend").map((h) => loadConfig({ ...common, ...h.env }));
    const webs = hosts("web").map((h) => loadConfig({ ...common, ...h.env }));
    assert.deepEqual(
      base.backendAddrs,
      backends.map((b) => `${b.backendHost}:${b.backendPort}`),
    );
    assert.deepEqual(
      base.webAddrs,
      webs.map((w) => `${w.webHost}:${w.webPort}`),
    );
    for (const b of backends) {
      assert.ok(b.backendMetricsPort > 0 && b.backendMetricsPort !== b.backendPort, "backend metrics port");
      assert.ok(b.grpcTls?.certFile && b.grpcTls.keyFile && b.grpcTls.caFile, "backend serves mutual TLS");
      assert.ok(
        b.etcdTls?.caFile && b.etcdClientCertDir && !b.etcdTls.certFile,
        "backend has one etcd identity per service (ETCD_CLIENT_CERT_DIR), no shared certificate",
      );
      assert.notEqual(b.etcdTls.caFile, b.grpcTls.caFile, "etcd trusts a CA of its own");
      assert.notEqual(b.backendHost, "0.0.0.0");
    }
    const frontDoor = loadConfig({ ...common, ...hosts("front-door")[0]!.env });
    for (const w of webs) {
      assert.ok(w.grpcTls?.certFile && w.grpcTls.keyFile, "web presents a client certificate");
      assert.ok(!w.etcdTls?.certFile && !w.etcdClientCertDir, "a web host has no etcd identity");
      assert.deepEqual(
        w.trustedProxies,
        [frontDoor.frontHost],
        "web trusts X-Forwarded-For from the front door only",
      );
    }
    assert.ok(frontDoor.rateLimits, "rate limits on at the front door");
    assert.notEqual(frontDoor.adminPort, frontDoor.frontPort);
    assert.ok(
      base.etcdEndpoints.every((e) => e.startsWith("https://")),
      "etcd over TLS",
    );
    assert.ok(base.cookieSecure, "cookies are Secure behind HTTPS");
  });

  it("etcd env files use only etcd's own flags and describe one consistent cluster", () => {
    let flags: Set<string> | undefined;
    try {
      const help = execFileSync(findEtcdBinary(), ["--help"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      flags = new Set([...help.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]!));
    } catch {
      // etcd not installed here: the membership checks below still run.
    }
    assert.equal(etcd.length, 3, "three members");
    const names = etcd.map((m) => m.env.ETCD_NAME);
    const cluster = etcd[0]!.env.ETCD_INITIAL_CLUSTER!;
    for (const { name, env } of etcd) {
      for (const key of Object.keys(env)) {
        assert.match(key, /^ETCD_/, `${name}.env: ${key}`);
        const flag = key.slice(5).toLowerCase().replaceAll("_", "-");
        if (flags) assert.ok(flags.has(flag), `${name}.env: ${key} is not an etcd flag (--${flag})`);
      }
      assert.equal(env.ETCD_INITIAL_CLUSTER, cluster, `${name}.env: same initial cluster`);
      assert.ok(
        cluster.split(",").includes(`${env.ETCD_NAME}=${env.ETCD_INITIAL_ADVERTISE_PEER_URLS}`),
        `${name}: its peer URL is in the initial cluster`,
      );
      assert.equal(env.ETCD_CLIENT_CERT_AUTH, "true", `${name}: clients need certificates`);
      assert.equal(
        basename(env.ETCD_TRUSTED_CA_FILE ?? ""),
        basename(common.ETCD_CA_FILE ?? "-"),
        `${name}: trusts the etcd CA only (not the gRPC CA web hosts have certificates from)`,
      );
      assert.ok(
        env.ETCD_AUTO_COMPACTION_RETENTION && env.ETCD_AUTO_COMPACTION_RETENTION !== "0",
        "compaction on",
      );
    }
    assert.equal(new Set(names).size, 3, "distinct names");
    assert.deepEqual(
      loadConfig(common).etcdEndpoints,
      etcd.map((m) => m.env.ETCD_ADVERTISE_CLIENT_URLS),
      "Flock's ETCD_ENDPOINTS are the members' client URLs",
    );
  });

  it("systemd units parse, start files this build has, and outlast the graceful stop", () => {
    const units = readdirSync(join(DEPLOY, "systemd")).filter((f) => f.endsWith(".service"));
    assert.deepEqual(units.sort(), [
      "etcd.service",
      "flock-backend.service",
      "flock-front-door.service",
      "flock-web.service",
    ]);
    const defaults = loadConfig(common);
    for (const file of units) {
      const unit = parseUnit(join(DEPLOY, "systemd", file));
      assert.deepEqual([...unit.sections.keys()], ["Unit", "Service", "Install"], `${file}: sections`);
      const [exec, ...more] = values(unit, "Service", "ExecStart");
      assert.ok(exec && more.length === 0, `${file}: one ExecStart`);
      const [program, script] = exec.split(/\s+/);
      assert.ok(program!.startsWith("/"), `${file}: ExecStart needs an absolute path`);
      const stopSeconds = Number(values(unit, "Service", "TimeoutStopSec")[0]);
      if (file.startsWith("flock-")) {
        assert.ok(script?.startsWith(`${INSTALL_DIR}/dist/cmd/`), `${file}: runs a dist/cmd entry point`);
        const local = join(ROOT, script!.slice(INSTALL_DIR.length + 1));
        assert.ok(existsSync(local), `${file}: ${script} exists in this build (${local})`);
        const envs = values(unit, "Service", "EnvironmentFile");
        assert.deepEqual(envs[0], "/etc/flock/common.env", `${file}: reads common.env first`);
        const role = file.replace(/^flock-|\.service$/g, "");
        assert.deepEqual(envs.slice(1), [`/etc/flock/${role}.env`]);
        assert.ok(hosts(role).length > 0, `${file}: deploy/env has an example ${role}.env`);
        assert.deepEqual(values(unit, "Service", "KillSignal"), ["SIGTERM"]);
        assert.ok(
          stopSeconds * 1000 > defaults.drainMs + defaults.shutdownTimeoutMs,
          `${file}: TimeoutStopSec ${stopSeconds}s outlasts DRAIN_MS + SHUTDOWN_TIMEOUT_MS`,
        );
        assert.equal(values(unit, "Service", "User")[0], "flock", `${file}: not root`);
      } else {
        assert.equal(program, "/usr/bin/etcd");
        assert.deepEqual(values(unit, "Service", "EnvironmentFile"), ["/etc/default/etcd"]);
      }
    }
  });

  it("systemd-analyze verify accepts the units (when systemd-analyze is installed)", (t) => {
    if (spawnSync("systemd-analyze", ["--version"]).status !== 0) return t.skip("no systemd-analyze here");
    const dir = mkdtempSync(join(tmpdir(), "flock-units-"));
    try {
      for (const file of readdirSync(join(DEPLOY, "systemd"))) {
        // The same unit, pointed at this checkout instead of the host's install paths.
        const role = file.replace(/^flock-|\.service$/g, "");
        const text = readFileSync(join(DEPLOY, "systemd", file), "utf8")
          .replaceAll(INSTALL_DIR, ROOT.replace(/\/$/, ""))
          .replaceAll("/etc/flock/common.env", join(DEPLOY, "env", "common.env"))
          .replaceAll(`/etc/flock/${role}.env`, join(DEPLOY, "env", `${hosts(role)[0]?.name}.env`))
          .replaceAll("/etc/default/etcd", join(DEPLOY, "etcd", "etcd-1.env"))
          .replaceAll("/usr/bin/etcd", existsSync("/usr/bin/etcd") ? "/usr/bin/etcd" : "/bin/true")
          .replaceAll("/usr/bin/node", process.execPath);
        writeFileSync(join(dir, file), text);
      }
      const units = readdirSync(dir).map((f) => join(dir, f));
      const result = spawnSync("systemd-analyze", ["verify", ...units], {
        encoding: "utf8",
        timeout: 30_000,
      });
      const complaints = `${result.stdout}${result.stderr}`
        .split("\n")
        .filter((l) => l.includes(dir) || /Unknown|not executable|Failed|Invalid/i.test(l));
      assert.deepEqual(complaints, [], "systemd-analyze verify complaints");
      assert.equal(result.status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
