import { spawnSync } from "node:child_process";
import { findEtcdBinary } from "./etcd-cluster.js";

const INSTALL = ["apt-get", "install", "-y", "etcd-server", "etcd-client"];

/**
 * Makes sure the etcd binary is there: as root it installs Debian's etcd-server package;
 * otherwise it says exactly what to run. Returns the binary's path.
 */
export function ensureEtcdInstalled(log: (line: string) => void = console.log): string {
  try {
    return findEtcdBinary();
  } catch {
    // not installed yet
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`etcd is not installed. Run: sudo ${INSTALL.join(" ")}  (or set STORAGE=memory)`);
  }
  log(`etcd is not installed; running: ${INSTALL.join(" ")}`);
  let result = spawnSync(INSTALL[0]!, INSTALL.slice(1), { stdio: "inherit" });
  if (result.status !== 0) {
    // A new machine may have no package lists yet.
    spawnSync("apt-get", ["update"], { stdio: "inherit" });
    result = spawnSync(INSTALL[0]!, INSTALL.slice(1), { stdio: "inherit" });
  }
  if (result.status !== 0)
    throw new Error(`"${INSTALL.join(" ")}" failed; install etcd-server and try again`);
  return findEtcdBinary();
}
