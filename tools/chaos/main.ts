// `npm run chaos`: the whole topology in a temp dir under a concurrent workload while
// faults are injected, then a consistency check of every acknowledged operation.
// Exit status: 0 with no violation, 1 with violations, 2 when the run itself failed.
import { parseChaosOptions } from "./options.js";
import { runChaos } from "./run.js";

let options;
try {
  options = parseChaosOptions(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
}

const interrupt = new AbortController();
const onSignal = () => {
  if (interrupt.signal.aborted) process.exit(130);
  console.error("\nstopping: every process is being stopped (press Ctrl-C again to leave at once)");
  interrupt.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const summary = await runChaos(options, { signal: interrupt.signal });
process.exit(summary.error !== undefined ? 2 : summary.violations.length > 0 ? 1 : 0);
