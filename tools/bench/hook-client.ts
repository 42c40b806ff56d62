import { connect } from "node:net";
import { join } from "node:path";

/** Node's own figures of one process after a full GC (bytes). */
export interface HeapFigures {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Talks to process-hook.ts inside a Flock process the bench started (by pid). */
export class HookClient {
  constructor(private readonly dir: string) {}

  /** Live heap after a full GC; undefined when the process has no hook (or is gone). */
  async memory(pid: number): Promise<HeapFigures | undefined> {
    return this.send<HeapFigures>(pid, { op: "memory" }).catch(() => undefined);
  }

  async profileStart(pid: number): Promise<void> {
    await this.send(pid, { op: "profile-start" });
  }

  async profileStop(pid: number, file: string): Promise<void> {
    await this.send(pid, { op: "profile-stop", file });
  }

  private send<T>(pid: number, command: object, timeoutMs = 30_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const socket = connect(join(this.dir, `${pid}.sock`));
      let buffer = "";
      const fail = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      socket.setEncoding("utf8");
      socket.setTimeout(timeoutMs, () => fail(new Error(`hook of ${pid}: no answer in ${timeoutMs} ms`)));
      socket.on("error", fail);
      socket.on("data", (chunk: string) => {
        buffer += chunk;
        const at = buffer.indexOf("\n");
        if (at < 0) return;
        socket.end();
        const answer = JSON.parse(buffer.slice(0, at)) as { error?: string };
        if (answer.error !== undefined) reject(new Error(`hook of ${pid}: ${answer.error}`));
        else resolve(answer as T);
      });
      socket.write(`${JSON.stringify(command)}\n`);
    });
  }
}
