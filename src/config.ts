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
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): FlockConfig {
  return {
    storage: oneOf(env, "STORAGE", ["etcd", "memory"], "etcd"),
    etcdEndpoints: list(env, "ETCD_ENDPOINTS", "http://127.0.0.1:2379,http://127.0.0.1:2381,http://127.0.0.1:2383"),
    etcdPrefix: text(env, "ETCD_PREFIX", "flock/"),
    etcdTimeoutMs: int(env, "ETCD_TIMEOUT_MS", 3000),
    backendHost: text(env, "BACKEND_HOST", "127.0.0.1"),
    backendPort: int(env, "BACKEND_PORT", 50051),
    backendServices: list(env, "BACKEND_SERVICES", ALL_SERVICES.join(",")).map((s) => {
      if (!ALL_SERVICES.includes(s as ServiceName)) throw new Error(`BACKEND_SERVICES: unknown service "${s}"`);
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
  };
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
  if (!allowed.includes(value as T)) throw new Error(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}
