import type { BenchHttp, HttpAnswer } from "./http.js";
import type { Workload } from "./load.js";
import { randomInt, randomText, type Rng } from "./random.js";
import type { SeededGraph } from "./seed.js";
import { BENCH_PASSWORD } from "./seeder.js";

/** DeathStarBench's compose-post sends 256 random characters (Flock allows 280 code points). */
const COMPOSE_CHARS = 256;
const FEED_PAGE = 20;
/** DeathStarBench's user-timeline read is a page of 10. */
const USER_POSTS_PAGE = 10;
/** Tries at finding a user that `a` does not follow yet (a bound, not an expectation). */
const PICK_ATTEMPTS = 50;

function expect(answer: HttpAnswer, status: number): string | undefined {
  return answer.status === status ? undefined : `http ${answer.status}`;
}

/** The request mixes of the benchmark, each a workload of its own, on the seeded graph. */
export function flockWorkloads(http: BenchHttp, seeded: SeededGraph, concurrency: number): Workload[] {
  const { users } = seeded.graph;
  const pick = (random: Rng) => randomInt(random, users.length);

  const readHomeFeed = async (random: Rng) =>
    expect(await http.request("GET", `/api/v1/feed?limit=${FEED_PAGE}`, seeded.tokens[pick(random)]), 200);
  const readUserPosts = async (random: Rng) =>
    expect(
      await http.request("GET", `/api/v1/users/${users[pick(random)]}/posts?limit=${USER_POSTS_PAGE}`),
      200,
    );
  const composePost = async (random: Rng) =>
    expect(
      await http.request("POST", "/api/v1/posts", seeded.tokens[pick(random)], {
        text: randomText(random, COMPOSE_CHARS),
      }),
      201,
    );

  // Each worker follows someone new, then unfollows them again: the seeded graph is
  // left as it was, and every request is a real change (no idempotent no-ops).
  const following = seeded.graph.following.map((list) => new Set(list));
  const pending: ({ a: number; b: number } | undefined)[] = new Array(concurrency).fill(undefined);
  const followUnfollow = async (worker: number, random: Rng) => {
    const open = pending[worker];
    if (open) {
      pending[worker] = undefined;
      return expect(
        await http.request("DELETE", `/api/v1/following/${users[open.b]}`, seeded.tokens[open.a]),
        204,
      );
    }
    for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt++) {
      const a = pick(random);
      const b = pick(random);
      if (a === b || following[a]!.has(b)) continue;
      pending[worker] = { a, b };
      return expect(await http.request("PUT", `/api/v1/following/${users[b]}`, seeded.tokens[a]), 204);
    }
    return "no pair to follow";
  };
  const undoFollows = async () => {
    for (let w = 0; w < pending.length; w++) {
      const open = pending[w];
      pending[w] = undefined;
      if (open) await http.request("DELETE", `/api/v1/following/${users[open.b]}`, seeded.tokens[open.a]);
    }
  };

  const login = async (random: Rng) =>
    expect(
      await http.request("POST", "/api/v1/sessions", undefined, {
        username: users[pick(random)],
        password: BENCH_PASSWORD,
      }),
      201,
    );

  const mixed = async (random: Rng) => {
    const roll = random();
    if (roll < 0.6) return readHomeFeed(random);
    if (roll < 0.9) return readUserPosts(random);
    return composePost(random);
  };

  return [
    { name: "read-home-feed", kind: "read", op: (_w, r) => readHomeFeed(r) },
    { name: "read-user-posts", kind: "read", op: (_w, r) => readUserPosts(r) },
    { name: "compose-post", kind: "write", op: (_w, r) => composePost(r) },
    { name: "follow-unfollow", kind: "write", op: followUnfollow, finish: undoFollows },
    { name: "login", kind: "write", op: (_w, r) => login(r) },
    { name: "mixed-60-30-10", kind: "read", op: (_w, r) => mixed(r) },
  ];
}
