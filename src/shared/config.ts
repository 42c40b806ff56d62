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
  /**
   * PUBLIC_URL: the origin clients reach Flock at (https://flock.example), for the absolute URLs
   * the Mastodon client API answers; empty: taken from each request (local use, tests).
   */
  publicUrl: string;
  sessionTtlSeconds: number;
  scryptLogN: number;
  /** Bytes of post text a backend's read model keeps in memory; older texts are read from etcd. */
  viewTextBudgetBytes: number;
  /** Live sessions per account; a login beyond it ends the oldest. */
  maxSessionsPerAccount: number;
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
  /**
   * A folder of etcd client certificates, one per identity a backend opens (`<user>.crt` and
   * `<user>.key`, user = accounts, graph, posts or reader), each with CN = the etcd user it acts
   * as (etcd's --client-cert-auth with auth enabled; see deploy/etcd/roles.sh). Undefined: every
   * store uses ETCD_CERT_FILE (or no client certificate).
   */
  etcdClientCertDir: string | undefined;
  /** Addresses whose X-Forwarded-For a web replica believes: the front door's (and any proxy before it). */
  trustedProxies: string[];
  /** The front door's admin listener: its metrics, stats page and /cluster (keep it private). */
  adminHost: string;
  adminPort: number;
  /** The front door's per-address and per-token limits; undefined when RATE_LIMITS=off. */
  rateLimits: RateLimits | undefined;
}

/** At most `count` requests in any `periodSeconds`. */
export interface RateLimit {
  count: number;
  periodSeconds: number;
}

/** What the front door allows (README "Rate limits"); over a limit it answers 429 with Retry-After. */
export interface RateLimits {
  /** Per client address (IPv6: per /64). */
  signups: RateLimit;
  logins: RateLimit;
  posts: RateLimit;
  follows: RateLimit;
  /** Per session token (bearer or cookie), every request but static files. */
  perToken: RateLimit;
  /** Open connections per client address at once. */
  connectionsPerAddress: number;
}

export const DEFAULT_RATE_LIMITS = {
  signups: "5/30m",
  logins: "25/5m",
  posts: "300/3h",
  follows: "400/1d",
  perToken: "300/5m",
  connectionsPerAddress: 100,
} as const;

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

/**
 * Default ports stay below Linux's ephemeral range (32768–60999), from which the kernel picks
 * the local port of every outgoing connection: a fixed port inside it can be taken by one.
 */
export const DEFAULT_BACKEND_PORT = 8101;
/** A backend's Prometheus port defaults to its gRPC port plus this. */
export const METRICS_PORT_OFFSET = 100;

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
    backendPort: int(env, "BACKEND_PORT", DEFAULT_BACKEND_PORT),
    backendServices: list(env, "BACKEND_SERVICES", ALL_SERVICES.join(",")).map((s) => {
      if (!ALL_SERVICES.includes(s as ServiceName))
        throw new Error(`BACKEND_SERVICES: unknown service "${s}"`);
      return s as ServiceName;
    }),
    backendAddrs: list(env, "BACKEND_ADDRS", `127.0.0.1:${DEFAULT_BACKEND_PORT}`),
    grpcTimeoutMs: int(env, "GRPC_TIMEOUT_MS", 5000),
    webHost: text(env, "WEB_HOST", "127.0.0.1"),
    webPort: int(env, "WEB_PORT", 8081),
    frontPort: int(env, "PORT", 8080),
    webReplicas: int(env, "WEB_REPLICAS", 2),
    backendReplicas: int(env, "BACKEND_REPLICAS", 2),
    cookieSecure: text(env, "COOKIE_SECURE", "false") === "true",
    publicUrl: text(env, "PUBLIC_URL", "").replace(/\/+$/, ""),
    sessionTtlSeconds: int(env, "SESSION_TTL_SECONDS", 7 * 24 * 3600),
    scryptLogN: int(env, "SCRYPT_LOG_N", 15),
    viewTextBudgetBytes: int(env, "VIEW_TEXT_BUDGET_MB", 256) * 1024 * 1024,
    maxSessionsPerAccount: int(env, "MAX_SESSIONS_PER_ACCOUNT", 50),
    dataDir: text(env, "FLOCK_DATA_DIR", "data"),
    logLevel: text(env, "LOG_LEVEL", "info"),
    ...opsConfig(env),
  };
}

/** Operations settings: probes, shutdown, metrics, TLS (see README "Operating Flock"). */
function opsConfig(env: Env) {
  const backendPort = int(env, "BACKEND_PORT", DEFAULT_BACKEND_PORT);
  const metricsDefault =
    backendPort > 0 && backendPort + METRICS_PORT_OFFSET <= 65535 ? backendPort + METRICS_PORT_OFFSET : 0;
  return {
    frontHost: text(env, "FRONT_HOST", "127.0.0.1"),
    webAddrs: list(env, "WEB_ADDRS", "127.0.0.1:8081,127.0.0.1:8082"),
    backendMetricsPort: int(env, "BACKEND_METRICS_PORT", metricsDefault),
    probeIntervalMs: int(env, "PROBE_INTERVAL_MS", 1000),
    drainMs: int(env, "DRAIN_MS", 1500),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 8000),
    etcdTls: tlsFiles(env, "ETCD_CA_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE"),
    grpcTls: grpcTlsFiles(env),
    etcdClientCertDir: env.ETCD_CLIENT_CERT_DIR || undefined,
    trustedProxies: list(env, "TRUSTED_PROXIES", "127.0.0.1,::1"),
    adminHost: text(env, "ADMIN_HOST", "127.0.0.1"),
    adminPort: int(env, "ADMIN_PORT", 8090),
    rateLimits: rateLimits(env),
  };
}

/** RATE_LIMITS=on|off, and each limit as "<count>/<period>" (period: 30s, 5m, 3h, 1d). */
function rateLimits(env: Env): RateLimits | undefined {
  if (oneOf(env, "RATE_LIMITS", ["on", "off"], "on") === "off") return undefined;
  const d = DEFAULT_RATE_LIMITS;
  return {
    signups: rate(env, "RATE_LIMIT_SIGNUPS", d.signups),
    logins: rate(env, "RATE_LIMIT_LOGINS", d.logins),
    posts: rate(env, "RATE_LIMIT_POSTS", d.posts),
    follows: rate(env, "RATE_LIMIT_FOLLOWS", d.follows),
    perToken: rate(env, "RATE_LIMIT_TOKEN", d.perToken),
    connectionsPerAddress: int(env, "RATE_LIMIT_CONNECTIONS", d.connectionsPerAddress),
  };
}

const PERIOD_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

function rate(env: Env, name: string, fallback: string): RateLimit {
  const raw = text(env, name, fallback);
  const match = /^(\d{1,9})\/(\d{1,6})([smhd])$/.exec(raw);
  const count = Number(match?.[1]);
  const periodSeconds = Number(match?.[2]) * PERIOD_SECONDS[match?.[3] ?? ""]!;
  if (!match || count < 1 || !(periodSeconds >= 1 && periodSeconds <= 7 * 86400))
    throw new Error(
      `${name} must be <count>/<period> like 5/30m (period in s, m, h or d, at most 7d), got "${raw}"`,
    );
  return { count, periodSeconds };
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
