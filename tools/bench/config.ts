/**
 * What one bench run does, from environment variables with defaults (see `npm run bench`
 * in the README). Every size is configurable so the same code runs as the seconds-long
 * smoke test and as the full measurement.
 */
export interface BenchConfig {
  /** Front door of a running Flock (BENCH_TARGET); unset: start the whole topology in a temp dir. */
  target?: string;
  /** etcd of the running Flock (BENCH_ETCD_ENDPOINTS); required with `target`. */
  etcdEndpoints?: string[];
  /** ETCD_PREFIX of the deployment seeded and measured. */
  etcdPrefix: string;
  /** Where the JSON results go (the default folder is ignored by git and prettier). */
  resultsFile: string;
  /** Password hashing cost of the seeded accounts (the `login` workload pays it on every call). */
  scryptLogN: number;
  seed: number;
  graph: GraphSize;
  /** Seed txns in flight at once (every post is a txn of its own). */
  seedConcurrency: number;
  load: LoadSettings;
  /** Every workload (and raw etcd) runs once at each of these concurrencies, in this order. */
  concurrencies: number[];
  costGrowth: CostGrowthSettings;
  /** Kill one backend with SIGKILL at the large history and time its restart (started topology only). */
  restart: boolean;
  /** CPU-profile every Flock process during read-home-feed and compose-post (started topology only). */
  profile: ProfileSettings;
  streaming: StreamingSettings;
  /** The front door's admin listener of a target deployment (BENCH_ADMIN_URL), for its stats; optional. */
  adminUrl?: string;
  /** Print a progress line while a phase runs. */
  progress: boolean;
}

export interface GraphSize {
  users: number;
  /** Mean number of accounts each user follows (drawn from a power law). */
  meanFollowing: number;
  postsPerUser: number;
}

export interface LoadSettings {
  concurrency: number;
  /** Measured seconds per workload. */
  durationSeconds: number;
  /** Unmeasured seconds before each workload, so connections and JIT are warm. */
  warmupSeconds: number;
  /** Hard cap on the requests of one workload (a bound on every loop). */
  maxOpsPerWorkload: number;
  /** Idle seconds before each concurrency's runs, to show what the system does on its own. */
  idleSeconds: number;
}

export interface CostGrowthSettings {
  /** Posts stored at the "small" point (about 10 thousand). */
  smallPosts: number;
  /** Posts stored at the "large" point (1 million by default); 0 skips that point. */
  largePosts: number;
  /** Accounts followed by the narrow and the wide reader. */
  narrowFollowing: number;
  wideFollowing: number;
  /** Followers of the small and the big author. */
  fewFollowers: number;
  manyFollowers: number;
  /** Followers whose home feed is read after each post to time ack-to-visible (same count for both authors). */
  visibleFollowers: number;
  /** Sequential samples per measurement. */
  readSamples: number;
  composeSamples: number;
  /** Budget of one measurement: sampling stops early once it is spent. */
  sampleBudgetSeconds: number;
}

export interface ProfileSettings {
  enabled: boolean;
  concurrency: number;
  /** Where the .cpuprofile files are kept (BENCH_CPU_PROF_DIR); unset: a temp dir removed afterwards. */
  dir?: string;
  /** Functions and areas listed per process. */
  top: number;
}

/**
 * The streaming-client workload: Server-Sent Events streams (GET /api/v1/streaming), each held by
 * a follower of one author, and the time from each of the author's posts being acknowledged
 * until its `post` event reaches every stream.
 */
export interface StreamingSettings {
  /** Streams held at once through the front door at each measured step (BENCH_STREAMS; "0": none). */
  counts: number[];
  /** Posts by the author per step, one at a time, each timed to every stream. */
  posts: number;
  /** Streams being opened at once (each open is a session check and a backend subscription). */
  openConcurrency: number;
  /** How long a stream may take to answer 200 and its first line before it counts as failed. */
  openTimeoutMs: number;
  /** How long a post's event may take to reach a stream before it counts as missed. */
  eventDeadlineMs: number;
  /** After closing a phase's streams, how long to wait for the web replicas to count them gone. */
  releaseWaitMs: number;
  search: StreamSearchSettings;
}

/** The bounded search for the most streams one web replica holds. */
export interface StreamSearchSettings {
  /** Streams of the first step (default: the largest measured count); each next step doubles. */
  start: number;
  /** No step holds more than this (BENCH_STREAM_CAP); 0 skips the search. */
  cap: number;
  /** "web": every stream straight to the first web replica; "front": through the front door. */
  via: "web" | "front";
  /** A step whose ack-to-event p99 is above this (ms) counts as degraded and ends the search. */
  maxP99Ms: number;
}

type Env = Record<string, string | undefined>;

/** Issue 12's large history; a post is one key, so etcd and the views hold it on this machine. */
const DEFAULT_LARGE_POSTS = 1_000_000;

export function loadBenchConfig(env: Env = process.env): BenchConfig {
  const target = text(env, "BENCH_TARGET");
  const etcdEndpoints = text(env, "BENCH_ETCD_ENDPOINTS")
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (target !== undefined && (etcdEndpoints === undefined || etcdEndpoints.length === 0)) {
    throw new Error("BENCH_TARGET needs BENCH_ETCD_ENDPOINTS (the etcd client URLs of that deployment)");
  }
  const concurrencies = intList(env, "BENCH_CONCURRENCY", [16, 64]);
  const streamCounts = text(env, "BENCH_STREAMS") === "0" ? [] : intList(env, "BENCH_STREAMS", [100, 1000]);
  const via = text(env, "BENCH_STREAM_SEARCH_VIA") ?? "web";
  if (via !== "web" && via !== "front") {
    throw new Error(`BENCH_STREAM_SEARCH_VIA must be web or front, got "${via}"`);
  }
  return {
    target,
    etcdEndpoints,
    etcdPrefix: text(env, "ETCD_PREFIX") ?? "flock/",
    resultsFile: text(env, "BENCH_RESULTS") ?? "test-results/bench-results.json",
    scryptLogN: int(env, "BENCH_SCRYPT_LOG_N", int(env, "SCRYPT_LOG_N", 15)),
    seed: int(env, "BENCH_SEED", 42),
    graph: {
      users: int(env, "BENCH_USERS", 2000),
      meanFollowing: int(env, "BENCH_MEAN_FOLLOWING", 50),
      postsPerUser: int(env, "BENCH_POSTS_PER_USER", 10),
    },
    seedConcurrency: Math.max(1, int(env, "BENCH_SEED_CONCURRENCY", 256)),
    load: {
      concurrency: concurrencies[0]!,
      durationSeconds: num(env, "BENCH_DURATION", 10),
      warmupSeconds: num(env, "BENCH_WARMUP", 1),
      maxOpsPerWorkload: int(env, "BENCH_MAX_OPS", 1_000_000),
      idleSeconds: num(env, "BENCH_IDLE", 5),
    },
    concurrencies,
    costGrowth: {
      smallPosts: int(env, "BENCH_SMALL_POSTS", 10_000),
      largePosts: int(env, "BENCH_LARGE_POSTS", DEFAULT_LARGE_POSTS),
      narrowFollowing: int(env, "BENCH_NARROW_FOLLOWING", 10),
      wideFollowing: int(env, "BENCH_WIDE_FOLLOWING", 5000),
      fewFollowers: int(env, "BENCH_FEW_FOLLOWERS", 10),
      manyFollowers: int(env, "BENCH_MANY_FOLLOWERS", 10_000),
      visibleFollowers: Math.max(1, int(env, "BENCH_VISIBLE_FOLLOWERS", 10)),
      readSamples: int(env, "BENCH_READ_SAMPLES", 100),
      composeSamples: int(env, "BENCH_COMPOSE_SAMPLES", 20),
      sampleBudgetSeconds: num(env, "BENCH_SAMPLE_BUDGET", 30),
    },
    restart: bool(env, "BENCH_RESTART", true),
    profile: {
      enabled: bool(env, "BENCH_PROFILE", true),
      concurrency: int(env, "BENCH_PROFILE_CONCURRENCY", 16),
      dir: text(env, "BENCH_CPU_PROF_DIR"),
      top: int(env, "BENCH_PROFILE_TOP", 8),
    },
    streaming: {
      counts: streamCounts,
      posts: Math.max(1, int(env, "BENCH_STREAM_POSTS", 10)),
      openConcurrency: Math.max(1, int(env, "BENCH_STREAM_OPEN_CONCURRENCY", 64)),
      openTimeoutMs: num(env, "BENCH_STREAM_OPEN_TIMEOUT", 10) * 1000,
      eventDeadlineMs: num(env, "BENCH_STREAM_DEADLINE", 10) * 1000,
      releaseWaitMs: num(env, "BENCH_STREAM_RELEASE_WAIT", 60) * 1000,
      search: {
        start: Math.max(1, int(env, "BENCH_STREAM_SEARCH_START", Math.max(1, ...streamCounts))),
        cap: int(env, "BENCH_STREAM_CAP", 16_384),
        via,
        maxP99Ms: num(env, "BENCH_STREAM_MAX_P99", 1000),
      },
    },
    adminUrl: text(env, "BENCH_ADMIN_URL"),
    progress: bool(env, "BENCH_PROGRESS", true),
  };
}

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

function num(env: Env, name: string, fallback: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0, got "${raw}"`);
  return value;
}

function int(env: Env, name: string, fallback: number): number {
  const value = num(env, name, fallback);
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got "${value}"`);
  return value;
}

/** "16,64": whole numbers ≥ 1, in the order given. */
function intList(env: Env, name: string, fallback: number[]): number[] {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const values = raw.split(",").map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`${name} must be whole numbers ≥ 1 separated by commas, got "${raw}"`);
  }
  return values;
}
