// Makes a fresh clone ready to build and run: installs the locked npm packages when they are
// missing or stale, and the system packages a command needs (Debian's etcd, HAProxy, Chromium) when
// they are missing, as root; otherwise says exactly what to run.
//   node scripts/setup.mjs [--system etcd,haproxy,chromium,openssl,faketime]
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

const APT_PACKAGES = {
  etcd: ["etcd-server", "etcd-client"],
  haproxy: ["haproxy"],
  chromium: ["chromium"],
  openssl: ["openssl"],
  faketime: ["faketime"],
};
const BINARIES = {
  etcd: "etcd",
  haproxy: "haproxy",
  chromium: "chromium",
  openssl: "openssl",
  faketime: "faketime",
};

function run(command, args) {
  console.log(`setup: ${command} ${args.join(" ")}`);
  return spawnSync(command, args, { stdio: "inherit" }).status === 0;
}

function onPath(binary) {
  // Debian puts HAProxy in /usr/sbin, which is not on every user's PATH.
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin"]) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

const installed = "node_modules/.package-lock.json";
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync("package-lock.json").mtimeMs) {
  if (!run("npm", ["ci", "--no-audit", "--no-fund"])) process.exit(1);
}

const wanted = (process.argv[process.argv.indexOf("--system") + 1] ?? "")
  .split(",")
  .filter((s) => s in BINARIES);
const missing = process.argv.includes("--system") ? wanted.filter((name) => !onPath(BINARIES[name])) : [];
if (missing.length > 0) {
  const packages = missing.flatMap((name) => APT_PACKAGES[name]);
  if (process.getuid?.() !== 0) {
    console.error(`setup: missing ${missing.join(", ")}. Run: sudo apt-get install -y ${packages.join(" ")}`);
    process.exit(1);
  }
  process.env.DEBIAN_FRONTEND = "noninteractive";
  const ok =
    run("apt-get", ["install", "-y", ...packages]) ||
    (run("apt-get", ["update"]) && run("apt-get", ["install", "-y", ...packages]));
  if (!ok) process.exit(1);
}
