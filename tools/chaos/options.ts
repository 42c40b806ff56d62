import { parseArgs } from "node:util";

/** What one chaos run does; everything else is fixed by the fault plan and the workload mix. */
export interface ChaosOptions {
  /** How long the workload runs at least (it also runs until the schedule is done). */
  durationMs: number;
  seed: number;
  /** Virtual users, each a closed loop: one request at a time. */
  concurrency: number;
  /** The short plan: each kind of fault once, quickly (what `npm test` runs). */
  short: boolean;
  /** Cycles of the schedule (each injects every kind once) run at least this many times. */
  minPerKind: number;
  /** Keep the temp data dir (logs, report, history) after the run; the CLI keeps it, the test does not. */
  keepData: boolean;
}

export const USAGE = `usage: npm run chaos -- [--short | --long] [--duration SECONDS] [--faults-per-kind N] [--seed N] [--concurrency N]
  (default)            about 5 minutes: the schedule's cycles (each fault kind once per cycle) until time is up
  --short              about 2 minutes in all: each kind of fault once (what npm test runs)
  --long               at least 30 minutes and at least 50 faults of every kind
  --duration S         least workload length in seconds (default 300; short 30; long 1800)
  --faults-per-kind N  least number of cycles, i.e. faults of each kind (default 1; long 50)
  --seed N             makes the workload choices and the fault plan repeatable (default: random)
  --concurrency N      virtual users (default 24, short 10)
Environment: CHAOS_DURATION_S, CHAOS_SEED, CHAOS_CONCURRENCY, CHAOS_SHORT=1, CHAOS_LONG=1 (flags win).`;

export const DEFAULT_DURATION_MS = 300_000;
export const SHORT_DURATION_MS = 30_000;
export const LONG_DURATION_MS = 1_800_000;
export const LONG_FAULTS_PER_KIND = 50;

const yes = (value: string | undefined) => ["1", "true", "yes"].includes((value ?? "").toLowerCase());

/** Parses flags (then env) into options; throws with the usage text on anything it does not know. */
export function parseChaosOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: "boolean" },
      long: { type: "boolean" },
      duration: { type: "string" },
      "faults-per-kind": { type: "string" },
      seed: { type: "string" },
      concurrency: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new Error(USAGE);
  const short = values.short ?? (values.long ? false : yes(env.CHAOS_SHORT));
  const long = values.long ?? (short ? false : yes(env.CHAOS_LONG));
  if (short && long) throw new Error(`--short and --long do not go together\n${USAGE}`);
  const duration = values.duration ?? env.CHAOS_DURATION_S;
  const perKind = values["faults-per-kind"];
  const seed = values.seed ?? env.CHAOS_SEED;
  const concurrency = values.concurrency ?? env.CHAOS_CONCURRENCY;
  return {
    short,
    durationMs:
      duration === undefined
        ? short
          ? SHORT_DURATION_MS
          : long
            ? LONG_DURATION_MS
            : DEFAULT_DURATION_MS
        : wholeNumber("duration", duration, 5, 24 * 3600) * 1000,
    minPerKind:
      perKind === undefined
        ? long
          ? LONG_FAULTS_PER_KIND
          : 1
        : wholeNumber("faults-per-kind", perKind, 1, 10_000),
    seed: seed === undefined ? Math.floor(Math.random() * 2 ** 31) : wholeNumber("seed", seed, 0, 2 ** 31),
    concurrency:
      concurrency === undefined ? (short ? 10 : 24) : wholeNumber("concurrency", concurrency, 1, 200),
    keepData: true,
  };
}

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(raw) || +raw < min || +raw > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}\n${USAGE}`);
  }
  return Number(raw);
}
