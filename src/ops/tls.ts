import { readFileSync } from "node:fs";
import { credentials, ServerCredentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { GrpcTlsFiles, TlsFiles } from "../config.js";
import type { EtcdCredentials } from "../storage/etcd/client.js";

/**
 * TLS material from the PEM files named in the configuration (ETCD_*_FILE, GRPC_TLS_*_FILE).
 * Files are read once, at start; a missing or unreadable file stops the process with its name.
 */
function read(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** etcd3's `credentials`: the CA that signed the members' certificates, and an optional client certificate. */
export function etcdCredentials(files: TlsFiles | undefined): EtcdCredentials | undefined {
  if (!files) return undefined;
  const rootCertificate = read(files.caFile, "ETCD_CA_FILE");
  if (!rootCertificate) throw new Error("etcd TLS needs ETCD_CA_FILE (the CA of the members' certificates)");
  return {
    rootCertificate,
    certChain: read(files.certFile, "ETCD_CERT_FILE"),
    privateKey: read(files.keyFile, "ETCD_KEY_FILE"),
  };
}

/** How web replicas (and backends calling peers) dial backends: credentials plus channel options. */
export interface GrpcDial {
  credentials: ChannelCredentials;
  options: ChannelOptions;
}

export function grpcDial(files: GrpcTlsFiles | undefined): GrpcDial {
  if (!files) return { credentials: credentials.createInsecure(), options: {} };
  const creds = credentials.createSsl(
    read(files.caFile, "GRPC_TLS_CA_FILE") ?? null,
    read(files.keyFile, "GRPC_TLS_KEY_FILE") ?? null,
    read(files.certFile, "GRPC_TLS_CERT_FILE") ?? null,
  );
  const options: ChannelOptions = files.serverName
    ? { "grpc.ssl_target_name_override": files.serverName, "grpc.default_authority": files.serverName }
    : {};
  return { credentials: creds, options };
}

/**
 * A backend's server credentials: its certificate and key; with a CA as well, callers must
 * present a certificate signed by it (mutual TLS).
 */
export function grpcServerCredentials(files: GrpcTlsFiles | undefined): ServerCredentials {
  if (!files) return ServerCredentials.createInsecure();
  const cert = read(files.certFile, "GRPC_TLS_CERT_FILE");
  const key = read(files.keyFile, "GRPC_TLS_KEY_FILE");
  if (!cert || !key) throw new Error("a backend serving TLS needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE");
  const ca = read(files.caFile, "GRPC_TLS_CA_FILE") ?? null;
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}
