import { join } from "node:path";
import type { FlockConfig, ServiceName } from "../shared/config.js";
import { readPemFile } from "../shared/pem.js";
import type { EtcdCallObserver, EtcdCredentials, EtcdStorageOptions } from "../storage/etcd/client.js";
import { EtcdKv } from "../storage/etcd/kv.js";
import { etcdCredentials } from "../storage/etcd/tls.js";
import type { Kv } from "../storage/kv.js";
import { MemoryKv } from "../storage/memory/kv.js";

/** Who a store client acts as: a service (writing its facts), or the read model (reading the views' range). */
export type StoreUser = ServiceName | "reader";

/** Opens a store client per user; a backend opens one for each service it hosts, and one reader. */
export interface StoreFactory {
  open(user: StoreUser): Kv;
}

/** The stores a backend process opens, as its configuration says; etcd calls report to `observer`. */
export function storesFor(config: FlockConfig, observer?: EtcdCallObserver): StoreFactory {
  if (config.storage === "memory") return memoryStores();
  const shared = etcdCredentials(config.etcdTls);
  const dir = config.etcdClientCertDir;
  return etcdStores(
    { endpoints: config.etcdEndpoints, prefix: config.etcdPrefix, timeoutMs: config.etcdTimeoutMs, observer },
    dir === undefined ? () => shared : (user) => identityCredentials(dir, user, shared),
  );
}

/**
 * The etcd identity of `user`: the client certificate ETCD_CLIENT_CERT_DIR/<user>.crt (and its
 * key), whose CN names the etcd user and so its role (deploy/etcd/roles.sh). Read when a store
 * opens, at start: a backend missing the certificate of a service it hosts does not start.
 */
export function identityCredentials(
  dir: string,
  user: StoreUser,
  shared: EtcdCredentials | undefined,
): EtcdCredentials {
  if (!shared)
    throw new Error("ETCD_CLIENT_CERT_DIR needs ETCD_CA_FILE (the CA of the members' certificates)");
  return {
    rootCertificate: shared.rootCertificate,
    certChain: readPemFile(join(dir, `${user}.crt`), `the etcd certificate of "${user}"`),
    privateKey: readPemFile(join(dir, `${user}.key`), `the etcd key of "${user}"`),
  };
}

/** One in-process store shared by every user (the memory store lives inside this process). */
export function memoryStores(kv: Kv = new MemoryKv()): StoreFactory {
  return { open: () => kv };
}

/**
 * Each call opens a new etcd client: every service owns its connection (and its retry budget),
 * and, with `credentials`, its own identity.
 */
export function etcdStores(
  options: EtcdStorageOptions,
  credentials: (user: StoreUser) => EtcdCredentials | undefined = () => options.credentials,
): StoreFactory {
  return { open: (user) => new EtcdKv({ ...options, credentials: credentials(user) }) };
}
