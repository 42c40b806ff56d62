import type { GraphSize } from "./config.js";
import { powerLawDegree, type Rng, ZipfSampler } from "./random.js";

/** Popularity exponent: with it a few accounts are followed by most users (Twitter-like). */
const ZIPF_EXPONENT = 1;

/** A seeded social graph: user i follows following[i] (indexes into users). */
export interface SocialGraph {
  users: string[];
  following: number[][];
  followers: number[][];
}

export interface GraphStats {
  users: number;
  follows: number;
  meanFollowing: number;
  maxFollowing: number;
  /** The most followed accounts, with their follower counts. */
  mostFollowed: { username: string; followers: number }[];
}

/**
 * Out-degrees from a power law (Pareto, shape 2) with the wanted mean; whom each user
 * follows drawn by Zipf popularity, without repeats and never oneself. Every loop is
 * bounded: a user whose draws keep hitting accounts already chosen simply follows fewer.
 */
export function generateGraph(size: GraphSize, usernameOf: (i: number) => string, random: Rng): SocialGraph {
  const n = size.users;
  const users = Array.from({ length: n }, (_, i) => usernameOf(i));
  const following: number[][] = [];
  const followers: number[][] = users.map(() => []);
  const popularity = n > 1 ? new ZipfSampler(n, ZIPF_EXPONENT) : undefined;
  const maxOut = Math.max(0, Math.min(n - 1, Math.floor(n / 2)));
  for (let i = 0; i < n; i++) {
    const chosen = new Set<number>();
    if (popularity && maxOut > 0 && size.meanFollowing > 0) {
      const want = powerLawDegree(random, size.meanFollowing, maxOut);
      for (let attempt = 0; attempt < want * 30 && chosen.size < want; attempt++) {
        const j = popularity.draw(random);
        if (j !== i) chosen.add(j);
      }
    }
    const list = [...chosen].sort((a, b) => a - b);
    following.push(list);
    for (const j of list) followers[j]!.push(i);
  }
  return { users, following, followers };
}

export function graphStats(graph: SocialGraph): GraphStats {
  const follows = graph.following.reduce((sum, list) => sum + list.length, 0);
  const byFollowers = graph.followers
    .map((list, i) => ({ username: graph.users[i]!, followers: list.length }))
    .sort((a, b) => b.followers - a.followers);
  return {
    users: graph.users.length,
    follows,
    meanFollowing: graph.users.length > 0 ? Math.round((follows / graph.users.length) * 10) / 10 : 0,
    maxFollowing: Math.max(0, ...graph.following.map((list) => list.length)),
    mostFollowed: byFollowers.slice(0, 5),
  };
}
