import { readFileSync } from "node:fs";

/**
 * TLS material from the PEM files named in the configuration (ETCD_*_FILE, GRPC_TLS_*_FILE).
 * Files are read once, at start; a missing or unreadable file stops the process with its name.
 */
export function readPemFile(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}
