import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import type { HookClient } from "./hook-client.js";
import { processMemory, type ProcessMemory } from "./rss.js";
import type { Seeder } from "./seeder.js";
import type { BenchProcess } from "./topology.js";

/** Issue 12's figure for layout v1 (fan-out on write), printed beside today's. */
export const V1_ETCD_RSS_REFERENCE = "2.9 GiB per member at 250,000 posts (layout v1, issue 12)";

/** Keys, revision and memory at one moment: taken before and after a seeding phase. */
export interface Footprint {
  /** Keys under the layout's root (every fact Flock keeps, ticks included). */
  keys: number;
  revision: number;
  processes: ProcessMemory[];
}

/** What one fact costs: keys and revisions in etcd, and memory in each backend's view. */
export interface PerFact {
  what: "post" | "follow";
  facts: number;
  keysPerFact: number;
  revisionsPerFact: number;
  /** Δ live heap (after a full GC) and Δ RSS of each backend, per fact, in bytes. */
  backends: { name: string; heapBytesPerFact?: number; rssBytesPerFact?: number }[];
}

export interface EtcdMemberFigures {
  endpoint: string;
  name?: string;
  pid?: number;
  rssMiB?: number;
  peakRssMiB?: number;
  /** The member's bolt db file, and the part of it in use (etcd's own figures). */
  dbSizeMiB?: number;
  dbInUseMiB?: number;
}

export interface StorageResults {
  perPost?: PerFact;
  perFollow?: PerFact;
  /** At the large history. */
  postsStored: number;
  keysStored: number;
  etcd: EtcdMemberFigures[];
  backends: ProcessMemory[];
  reference: string;
}

export async function footprint(
  seeder: Seeder,
  processes: readonly BenchProcess[],
  hooks?: HookClient,
): Promise<Footprint> {
  const { keys, revision } = await seeder.countKeys(seeder.keys.root);
  const flock = processes.filter((p) => p.role === "backend");
  return { keys, revision, processes: await processMemory(flock, hooks) };
}

export function perFact(what: PerFact["what"], facts: number, before: Footprint, after: Footprint): PerFact {
  const per = (a: number | undefined, b: number | undefined, scale: number) =>
    a === undefined || b === undefined || facts === 0 ? undefined : Math.round(((a - b) * scale) / facts);
  return {
    what,
    facts,
    keysPerFact: facts > 0 ? Math.round(((after.keys - before.keys) / facts) * 1000) / 1000 : 0,
    revisionsPerFact: facts > 0 ? Math.round(((after.revision - before.revision) / facts) * 1000) / 1000 : 0,
    backends: after.processes.flatMap((p) => {
      const was = before.processes.find((q) => q.name === p.name && q.pid === p.pid);
      if (!was) return [];
      return [
        {
          name: p.name,
          heapBytesPerFact: per(p.heapUsedMiB, was.heapUsedMiB, 1024 * 1024),
          rssBytesPerFact: per(p.rssMiB, was.rssMiB, 1024 * 1024),
        },
      ];
    }),
  };
}

/** Each member's RSS (by pid) and db size (asked of that member alone). */
export async function etcdMembers(
  endpoints: readonly string[],
  processes: readonly BenchProcess[],
): Promise<EtcdMemberFigures[]> {
  const members = processes.filter((p) => p.role === "etcd");
  const memory = await processMemory(members);
  return Promise.all(
    endpoints.map(async (endpoint, i) => {
      const client = new Etcd3({ hosts: [endpoint], faultHandling: { global: noop, host: () => noop } });
      try {
        const status = await client.maintenance
          .status({ deadline: Date.now() + 5_000 })
          .catch(() => undefined);
        // The started topology lists members in the order of their endpoints.
        const process = members.length === endpoints.length ? memory[i] : undefined;
        return {
          endpoint,
          name: process?.name,
          pid: process?.pid,
          rssMiB: process?.rssMiB,
          peakRssMiB: process?.peakRssMiB,
          dbSizeMiB: status && mib(Number(status.dbSize)),
          dbInUseMiB: status && mib(Number(status.dbSizeInUse)),
        };
      } finally {
        client.close();
      }
    }),
  );
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
