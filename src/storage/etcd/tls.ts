import type { TlsFiles } from "../../shared/config.js";
import { readPemFile } from "../../shared/pem.js";
import type { EtcdCredentials } from "./client.js";

/** etcd3's `credentials`: the CA that signed the members' certificates, and an optional client certificate. */
export function etcdCredentials(files: TlsFiles | undefined): EtcdCredentials | undefined {
  if (!files) return undefined;
  const rootCertificate = readPemFile(files.caFile, "ETCD_CA_FILE");
  if (!rootCertificate) throw new Error("etcd TLS needs ETCD_CA_FILE (the CA of the members' certificates)");
  return {
    rootCertificate,
    certChain: readPemFile(files.certFile, "ETCD_CERT_FILE"),
    privateKey: readPemFile(files.keyFile, "ETCD_KEY_FILE"),
  };
}
