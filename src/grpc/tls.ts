import { credentials, ServerCredentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { GrpcTlsFiles } from "../shared/config.js";
import { readPemFile } from "../shared/pem.js";

/** How web replicas (and backends calling peers) dial backends: credentials plus channel options. */
export interface GrpcDial {
  credentials: ChannelCredentials;
  options: ChannelOptions;
}

export function grpcDial(files: GrpcTlsFiles | undefined): GrpcDial {
  if (!files) return { credentials: credentials.createInsecure(), options: {} };
  const creds = credentials.createSsl(
    readPemFile(files.caFile, "GRPC_TLS_CA_FILE") ?? null,
    readPemFile(files.keyFile, "GRPC_TLS_KEY_FILE") ?? null,
    readPemFile(files.certFile, "GRPC_TLS_CERT_FILE") ?? null,
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
  const cert = readPemFile(files.certFile, "GRPC_TLS_CERT_FILE");
  const key = readPemFile(files.keyFile, "GRPC_TLS_KEY_FILE");
  if (!cert || !key) throw new Error("a backend serving TLS needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE");
  const ca = readPemFile(files.caFile, "GRPC_TLS_CA_FILE") ?? null;
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}
