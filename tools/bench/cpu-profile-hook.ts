// Preloaded into each Flock process (NODE_OPTIONS=--import) when the bench is asked for CPU
// profiles: `node --cpu-prof` itself is not allowed in NODE_OPTIONS, and the launcher
// passes the environment, not flags. Writes <dir>/<script>-<pid>.cpuprofile on exit;
// open it in Chrome DevTools or summarise it with `node build/tools/bench/profile-summary.js`.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { basename, join } from "node:path";

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  process.once("exit", () => {
    // A main-thread session answers synchronously, so this runs to the end inside "exit".
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      const name = `${basename(process.argv[1] ?? "node", ".js")}-${process.pid}.cpuprofile`;
      writeFileSync(join(dir, name), JSON.stringify(result.profile));
    });
  });
}
