import { parseArgs } from "node:util";

/** What one chaos run does; everything else is fixed by the fault plan and the workload mix. */
export interface ChaosOptions {
  /** How long the workload runs (it also runs until every mandatory fault has been injected). */
  durationMs: number;
  seed: number;
  /** Virtual users, each a closed loop: one request at a time. */
  concurrency: number;
  /** The short plan: the four mandatory faults once, quickly (what `npm test` runs). */
  short: boolean;
  /** Keep the temp data dir (logs, report, history) after the run; the CLI keeps it, the test does not. */
  keepData: boolean;
}

export const USAGE = `usage: npm run chaos -- [--short] [--duration SECONDS] [--seed N] [--concurrency N]
  --short          about a minute: each mandatory fault once (what npm test runs)
  --duration S     workload length in seconds (default 180, short 40)
  --seed N         makes the workload choices and the fault plan repeatable (default: random)
  --concurrency N  virtual users (default 24, short 12)
Environment: CHAOS_DURATION_S, CHAOS_SEED, CHAOS_CONCURRENCY, CHAOS_SHORT=1 (flags win).`;

export const LONG_DURATION_MS = 180_000;
export const SHORT_DURATION_MS = 40_000;

/** Parses flags (then env) into options; throws with the usage text on anything it does not know. */
export function parseChaosOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: "boolean" },
      duration: { type: "string" },
      seed: { type: "string" },
      concurrency: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new Error(USAGE);
  const short = values.short ?? ["1", "true", "yes"].includes((env.CHAOS_SHORT ?? "").toLowerCase());
  const duration = values.duration ?? env.CHAOS_DURATION_S;
  const seed = values.seed ?? env.CHAOS_SEED;
  const concurrency = values.concurrency ?? env.CHAOS_CONCURRENCY;
  return {
    short,
    durationMs:
      duration === undefined
        ? short
          ? SHORT_DURATION_MS
          : LONG_DURATION_MS
        : wholeNumber("duration", duration, 5, 3600) * 1000,
    seed: seed === undefined ? Math.floor(Math.random() * 2 ** 31) : wholeNumber("seed", seed, 0, 2 ** 31),
    concurrency:
      concurrency === undefined ? (short ? 12 : 24) : wholeNumber("concurrency", concurrency, 1, 200),
    keepData: true,
  };
}

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(raw) || +raw < min || +raw > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}\n${USAGE}`);
  }
  return Number(raw);
}
