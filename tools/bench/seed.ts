import type { GraphSize } from "./config.js";
import { generateGraph, graphStats, type GraphStats, type SocialGraph } from "./graph.js";
import type { Progress } from "./progress.js";
import type { Rng } from "./random.js";
import type { Seeder } from "./seeder.js";

export interface SeededGraph {
  graph: SocialGraph;
  /** Session token of each user, by index. */
  tokens: string[];
  stats: GraphStats & { posts: number; feedEntries: number; keys: number; seconds: number };
}

/**
 * The social graph the workloads run on: accounts with sessions, power-law follows, and
 * `postsPerUser` posts each, fanned out to the author's followers (all of them: a follow
 * backfills 50 posts, more than an author has here), exactly the state the API builds.
 */
export async function seedSocialGraph(
  seeder: Seeder,
  size: GraphSize,
  usernameOf: (i: number) => string,
  random: Rng,
  progress: Progress,
): Promise<SeededGraph> {
  const started = Date.now();
  const graph = generateGraph(size, usernameOf, random);
  const writer = seeder.writer("social graph");
  const tokens = await seeder.accounts(writer, graph.users, true);
  const followedAt = Date.now() - 3600_000;
  for (let i = 0; i < graph.users.length; i++) {
    for (const j of graph.following[i]!)
      await writer.add(seeder.records.follow(graph.users[i]!, graph.users[j]!, followedAt));
  }
  let posts = 0;
  let feedEntries = 0;
  for (let a = 0; a < graph.users.length; a++) {
    const author = graph.users[a]!;
    const readers = graph.followers[a]!.map((f) => graph.users[f]!);
    for (const id of seeder.postIds(random, size.postsPerUser)) {
      await seeder.post(writer, id, author, seeder.seedText(random), readers);
      posts++;
      feedEntries += readers.length;
    }
  }
  await writer.flush();
  const seconds = (Date.now() - started) / 1000;
  progress.done(
    `seeded social graph: ${graph.users.length} users, ${posts} posts, ${feedEntries} feed entries, ${writer.written} keys in ${seconds.toFixed(1)} s`,
  );
  return {
    graph,
    tokens,
    stats: {
      ...graphStats(graph),
      posts,
      feedEntries,
      keys: writer.written,
      seconds: Math.round(seconds * 10) / 10,
    },
  };
}
