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
  load: LoadSettings;
  costGrowth: CostGrowthSettings;
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
}

export interface CostGrowthSettings {
  /** Posts stored at the "small" point (about 10 thousand). */
  smallPosts: number;
  /** Posts stored at the "large" point (about 1 million); 0 skips that point. */
  largePosts: number;
  /** Accounts followed by the narrow and the wide reader. */
  narrowFollowing: number;
  wideFollowing: number;
  /** Followers of the small and the big author. */
  fewFollowers: number;
  manyFollowers: number;
  /** Sequential samples per measurement. */
  readSamples: number;
  composeSamples: number;
  /** Budget of one measurement: sampling stops early once it is spent. */
  sampleBudgetSeconds: number;
}

type Env = Record<string, string | undefined>;

/**
 * Below the figures (20 posts per user, 1 million posts) on purpose: fan-out on
 * write makes every post one feed entry (two keys) per follower, so 2,000 users with 20
 * posts each are about 4.2 million keys, and etcd 3.4 keeps about 700 bytes of RAM per key
 * on each of the 3 members. On the shared 2-core, 24 GB machine that took minutes to seed
 * and would not leave room for 1 million posts as well. Raise both to measure the full size.
 */
const DEFAULT_POSTS_PER_USER = 10;
const DEFAULT_LARGE_POSTS = 250_000;

export function loadBenchConfig(env: Env = process.env): BenchConfig {
  const target = text(env, "BENCH_TARGET");
  const etcdEndpoints = text(env, "BENCH_ETCD_ENDPOINTS")
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (target !== undefined && (etcdEndpoints === undefined || etcdEndpoints.length === 0)) {
    throw new Error("BENCH_TARGET needs BENCH_ETCD_ENDPOINTS (the etcd client URLs of that deployment)");
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
      postsPerUser: int(env, "BENCH_POSTS_PER_USER", DEFAULT_POSTS_PER_USER),
    },
    load: {
      concurrency: int(env, "BENCH_CONCURRENCY", 16),
      durationSeconds: num(env, "BENCH_DURATION", 10),
      warmupSeconds: num(env, "BENCH_WARMUP", 1),
      maxOpsPerWorkload: int(env, "BENCH_MAX_OPS", 1_000_000),
    },
    costGrowth: {
      smallPosts: int(env, "BENCH_SMALL_POSTS", 10_000),
      largePosts: int(env, "BENCH_LARGE_POSTS", DEFAULT_LARGE_POSTS),
      narrowFollowing: int(env, "BENCH_NARROW_FOLLOWING", 10),
      wideFollowing: int(env, "BENCH_WIDE_FOLLOWING", 1000),
      fewFollowers: int(env, "BENCH_FEW_FOLLOWERS", 10),
      manyFollowers: int(env, "BENCH_MANY_FOLLOWERS", 10_000),
      readSamples: int(env, "BENCH_READ_SAMPLES", 100),
      composeSamples: int(env, "BENCH_COMPOSE_SAMPLES", 10),
      sampleBudgetSeconds: num(env, "BENCH_SAMPLE_BUDGET", 30),
    },
    progress: (text(env, "BENCH_PROGRESS") ?? "true") !== "false",
  };
}

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
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
