// Preloaded into each Flock process the bench starts (NODE_OPTIONS=--import; the launcher
// passes the environment, not flags), when BENCH_HOOK_DIR is set. It listens on a Unix socket
// <dir>/<pid>.sock (unref'd: it never keeps a process alive) for one-line JSON commands from
// the bench, answered through this process's own inspector:
//   {"op":"memory"}                  → a full GC, then process.memoryUsage() (the live heap)
//   {"op":"profile-start"}           → starts the V8 CPU profiler (what node --cpu-prof runs)
//   {"op":"profile-stop","file":f}   → stops it and writes the .cpuprofile to f
// When <dir>/profile-startup exists as the process starts, the profiler starts at once (the
// bench times a backend's restart that way; it stops the profile once the backend is ready).
// Only the bench's own topology loads it; a deployment never does.
import { existsSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { createServer } from "node:net";
import { join } from "node:path";

interface Command {
  op: "memory" | "profile-start" | "profile-stop";
  file?: string;
}

const dir = process.env.BENCH_HOOK_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))),
    );

  const handle = async (command: Command): Promise<object> => {
    switch (command.op) {
      case "memory":
        await post("HeapProfiler.collectGarbage");
        return { ...process.memoryUsage() };
      case "profile-start":
        await post("Profiler.enable");
        await post("Profiler.start");
        return { ok: true };
      case "profile-stop": {
        const { profile } = await post<{ profile: object }>("Profiler.stop");
        if (!command.file) throw new Error("profile-stop needs a file");
        writeFileSync(command.file, JSON.stringify(profile));
        return { file: command.file };
      }
    }
  };

  if (existsSync(join(dir, "profile-startup"))) {
    // A main-thread session answers synchronously: profiling runs before the program's first line.
    session.post("Profiler.enable");
    session.post("Profiler.start");
  }

  const server = createServer((socket) => {
    let buffer = "";
    socket.setEncoding("utf8");
    socket.on("error", () => undefined);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        Promise.resolve()
          .then(() => handle(JSON.parse(line) as Command))
          .then(
            (answer) => socket.write(`${JSON.stringify(answer)}\n`),
            (err: unknown) => socket.write(`${JSON.stringify({ error: String(err) })}\n`),
          );
      }
    });
  });
  server.on("error", () => undefined);
  server.listen(join(dir, `${process.pid}.sock`));
  server.unref();
}
