// `npm run bench`: seeds a social graph and a large history and measures Flock beside raw
// etcd (see tools/bench/). Starts the whole topology in a temp dir, or measures a running one
// (BENCH_TARGET).
import { resolve } from "node:path";
import { loadBenchConfig } from "./config.js";
import { formatResults, writeResults } from "./report.js";
import { runBench } from "./run.js";

const config = loadBenchConfig();
const results = await runBench(config, {
  processesFile: resolve(process.env.FLOCK_DATA_DIR ?? "data", "processes.json"),
});
await writeResults(config.resultsFile, results);
console.log(`\n${formatResults(results)}\n\nresults written to ${resolve(config.resultsFile)}`);
