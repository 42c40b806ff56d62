/**
 * Every setting Flock reads, from environment variables with local defaults.
 * README.md lists them; this is the one place that parses them.
 */
export type StorageKind = "memory" | "etcd";
export type ServiceName = "accounts" | "graph" | "posts";
export const ALL_SERVICES: readonly ServiceName[] = ["accounts", "graph", "posts"];

export interface FlockConfig {
  storage: StorageKind;
  etcdEndpoints: string[];
  /** Prefix of every key Flock writes; the layout version follows it (see storage/etcd/keys). */
  etcdPrefix: string;
  etcdTimeoutMs: number;
  backendHost: string;
  backendPort: number;
  backendServices: ServiceName[];
  /** Where web replicas (and backends, for services they do not host) reach backends. */
  backendAddrs: string[];
  grpcTimeoutMs: number;
  webHost: string;
  webPort: number;
  frontPort: number;
  webReplicas: number;
  backendReplicas: number;
  cookieSecure: boolean;
  sessionTtlSeconds: number;
  scryptLogN: number;
  dataDir: string;
  logLevel: string;
  /** The front door's listen host (its port is frontPort). */
  frontHost: string;
  /** Web replicas behind the front door (and shown on /cluster). */
  webAddrs: string[];
  /** Prometheus /metrics of a backend on BACKEND_HOST:this; 0 turns it off. */
  backendMetricsPort: number;
  /** How often backends probe their store, web replicas their backends, the front door its web replicas. */
  probeIntervalMs: number;
  /** After SIGTERM a web replica answers /readyz with 503 this long before it stops accepting. */
  drainMs: number;
  /** After that, how long in-flight requests (and gRPC calls) get before connections are cut. */
  shutdownTimeoutMs: number;
  /** TLS to etcd (client certificates optional); undefined: plain, unless the endpoints say https. */
  etcdTls: TlsFiles | undefined;
  /** TLS between web and backend (mutual when both sides have a CA and a certificate). */
  grpcTls: GrpcTlsFiles | undefined;
  /** Addresses whose X-Forwarded-For a web replica believes: the front door's (and any proxy before it). */
  trustedProxies: string[];
}

/** PEM file paths. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface GrpcTlsFiles extends TlsFiles {
  /** Name to verify in the backend's certificate when BACKEND_ADDRS are IP addresses. */
  serverName?: string;
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): FlockConfig {
  return {
    storage: oneOf(env, "STORAGE", ["etcd", "memory"], "etcd"),
    etcdEndpoints: list(
      env,
      "ETCD_ENDPOINTS",
      "http://127.0.0.1:2379,http://127.0.0.1:2381,http://127.0.0.1:2383",
    ),
    etcdPrefix: text(env, "ETCD_PREFIX", "flock/"),
    etcdTimeoutMs: int(env, "ETCD_TIMEOUT_MS", 3000),
    backendHost: text(env, "BACKEND_HOST", "127.0.0.1"),
    backendPort: int(env, "BACKEND_PORT", 50051),
    backendServices: list(env, "BACKEND_SERVICES", ALL_SERVICES.join(",")).map((s) => {
      if (!ALL_SERVICES.includes(s as ServiceName))
        throw new Error(`BACKEND_SERVICES: unknown service "${s}"`);
      return s as ServiceName;
    }),
    backendAddrs: list(env, "BACKEND_ADDRS", "127.0.0.1:50051"),
    grpcTimeoutMs: int(env, "GRPC_TIMEOUT_MS", 5000),
    webHost: text(env, "WEB_HOST", "127.0.0.1"),
    webPort: int(env, "WEB_PORT", 8081),
    frontPort: int(env, "PORT", 8080),
    webReplicas: int(env, "WEB_REPLICAS", 2),
    backendReplicas: int(env, "BACKEND_REPLICAS", 2),
    cookieSecure: text(env, "COOKIE_SECURE", "false") === "true",
    sessionTtlSeconds: int(env, "SESSION_TTL_SECONDS", 7 * 24 * 3600),
    scryptLogN: int(env, "SCRYPT_LOG_N", 15),
    dataDir: text(env, "FLOCK_DATA_DIR", "data"),
    logLevel: text(env, "LOG_LEVEL", "info"),
    ...opsConfig(env),
  };
}

/** Operations settings: probes, shutdown, metrics, TLS (see README "Operating Flock"). */
function opsConfig(env: Env) {
  const backendPort = int(env, "BACKEND_PORT", 50051);
  const metricsDefault = backendPort > 0 && backendPort + 1000 <= 65535 ? backendPort + 1000 : 0;
  return {
    frontHost: text(env, "FRONT_HOST", "127.0.0.1"),
    webAddrs: list(env, "WEB_ADDRS", "127.0.0.1:8081,127.0.0.1:8082"),
    backendMetricsPort: int(env, "BACKEND_METRICS_PORT", metricsDefault),
    probeIntervalMs: int(env, "PROBE_INTERVAL_MS", 1000),
    drainMs: int(env, "DRAIN_MS", 1500),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 8000),
    etcdTls: tlsFiles(env, "ETCD_CA_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE"),
    grpcTls: grpcTlsFiles(env),
    trustedProxies: list(env, "TRUSTED_PROXIES", "127.0.0.1,::1"),
  };
}

function tlsFiles(env: Env, ca: string, cert: string, key: string): TlsFiles | undefined {
  const files = {
    caFile: env[ca] || undefined,
    certFile: env[cert] || undefined,
    keyFile: env[key] || undefined,
  };
  if (!files.caFile && !files.certFile && !files.keyFile) return undefined;
  if (!files.certFile !== !files.keyFile)
    throw new Error(`${cert} and ${key} go together: set both or neither`);
  return files;
}

function grpcTlsFiles(env: Env): GrpcTlsFiles | undefined {
  const files = tlsFiles(env, "GRPC_TLS_CA_FILE", "GRPC_TLS_CERT_FILE", "GRPC_TLS_KEY_FILE");
  const serverName = env.GRPC_TLS_SERVER_NAME || undefined;
  if (serverName && !files) throw new Error("GRPC_TLS_SERVER_NAME needs GRPC_TLS_CA_FILE (TLS is off)");
  return files && { ...files, serverName };
}

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

function int(env: Env, name: string, fallback: number): number {
  const raw = text(env, name, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

function list(env: Env, name: string, fallback: string): string[] {
  return text(env, name, fallback)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = text(env, name, fallback);
  if (!allowed.includes(value as T))
    throw new Error(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}
