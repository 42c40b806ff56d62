import type { GraphSize } from "./config.js";
import { generateGraph, graphStats, type GraphStats, type SocialGraph } from "./graph.js";
import type { Rng } from "./random.js";
import type { SeedPhase, Seeder } from "./seeder.js";

export interface SeededGraph {
  graph: SocialGraph;
  /** Session token of each user, by index. */
  tokens: string[];
  stats: GraphStats & { posts: number; seconds: number };
}

/** Runs one seeding phase; the caller may measure around it (keys and memory per fact). */
export type Around = (what: "follows" | "posts", write: () => Promise<SeedPhase>) => Promise<SeedPhase>;

/**
 * The social graph the workloads run on: accounts with sessions, power-law follows, and
 * `postsPerUser` posts each (one txn per post, authors interleaved), written as the API
 * would have written them.
 */
export async function seedSocialGraph(
  seeder: Seeder,
  size: GraphSize,
  usernameOf: (i: number) => string,
  random: Rng,
  around: Around = (_what, write) => write(),
): Promise<SeededGraph> {
  const started = Date.now();
  const graph = generateGraph(size, usernameOf, random);
  const tokens = await seeder.accounts("social graph", graph.users, true);
  const pairs = graph.following.flatMap((list, i) =>
    list.map((j) => [graph.users[i]!, graph.users[j]!] as const),
  );
  await around("follows", () => seeder.follows("social graph", pairs));
  const n = graph.users.length;
  const posts = n * size.postsPerUser;
  await around("posts", () => seeder.posts("social graph", posts, (i) => graph.users[i % n]!, random));
  return {
    graph,
    tokens,
    stats: { ...graphStats(graph), posts, seconds: Math.round((Date.now() - started) / 100) / 10 },
  };
}
