import { countOp } from "../../src/storage/etcd/client.js";
import { prefixEnd } from "../../src/storage/etcd/keys.js";
import type { CostGrowthSettings } from "./config.js";
import type { BenchHttp } from "./http.js";
import { describeError } from "./load.js";
import type { Progress } from "./progress.js";
import { randomText, type Rng } from "./random.js";
import type { Seeder } from "./seeder.js";
import { ratio, Recorder, type LatencySummary } from "./stats.js";

/** How long a post may take to reach every follower's feed before it counts as an error. */
const VISIBILITY_DEADLINE_MS = 30_000;
/** Followers whose feed is also polled through the API (all of them are checked in etcd). */
const API_SAMPLE_FOLLOWERS = 20;
/** Filler posts generated (and written) per step of growing the history. */
const GROW_STEP = 5_000;

export interface Point extends Omit<LatencySummary, "opsPerSecond"> {
  label: string;
}

/** One cost-growth figure: the same operation at a small and a grown size, and grown/small. */
export interface Comparison {
  name: string;
  base: Point;
  grown?: Point;
  /** grown p50 / base p50 (the target is at most 1.5). */
  ratio?: number;
  ratioP99?: number;
}

export interface CostGrowthResults {
  postsStored: { small: number; large?: number };
  comparisons: Comparison[];
}

/**
 * Does cost grow with data? A fixture of its own, seeded in bulk (names start with the
 * run's tag), measured with one request at a time on an otherwise idle system:
 *
 *  - feed page: a reader following `narrowFollowing` accounts, with about `smallPosts`
 *    posts stored, then again after history grew to `largePosts` (the new posts are by the
 *    accounts this reader follows, so its own feed grows with the store);
 *  - feed page: a reader following `narrowFollowing` vs one following `wideFollowing`
 *    accounts, both feeds holding the same number of entries;
 *  - compose: an author with `fewFollowers` vs one with `manyFollowers`, and the time
 *    from sending the post until it is in every follower's feed;
 *  - user posts page of an author with few vs many posts (it grows with the history).
 */
export class CostGrowth {
  private readonly names;
  private tokens = new Map<string, string>();
  private readonly points = new Map<string, Point>();
  private postsSmall = 0;
  private postsLarge: number | undefined;

  constructor(
    private readonly seeder: Seeder,
    private readonly http: BenchHttp,
    private readonly settings: CostGrowthSettings,
    tag: string,
    private readonly random: Rng,
    private readonly progress: Progress,
  ) {
    const list = (kind: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}_${kind}${i}`);
    this.names = {
      narrowAuthors: list("n", settings.narrowFollowing),
      wideAuthors: list("w", settings.wideFollowing),
      narrowReader: `${tag}_rnarrow`,
      wideReader: `${tag}_rwide`,
      fewAuthor: `${tag}_pfew`,
      manyAuthor: `${tag}_pmany`,
      followers: list("f", Math.max(settings.fewFollowers, settings.manyFollowers)),
    };
  }

  /** Accounts, follows and about `smallPosts` posts, half in each reader's feed. */
  async prepare(): Promise<void> {
    const n = this.names;
    const writer = this.seeder.writer("cost-growth fixture");
    await this.seeder.accounts(
      writer,
      [...n.narrowAuthors, ...n.wideAuthors, ...n.followers.slice(API_SAMPLE_FOLLOWERS)],
      false,
    );
    const withSessions = [
      n.narrowReader,
      n.wideReader,
      n.fewAuthor,
      n.manyAuthor,
      ...n.followers.slice(0, API_SAMPLE_FOLLOWERS),
    ];
    const tokens = await this.seeder.accounts(writer, withSessions, true);
    this.tokens = new Map(withSessions.map((u, i) => [u, tokens[i]!]));
    const at = Date.now() - 3600_000;
    const follows: [string, string][] = [
      ...n.narrowAuthors.map((a): [string, string] => [n.narrowReader, a]),
      ...n.wideAuthors.map((a): [string, string] => [n.wideReader, a]),
      ...n.followers.slice(0, this.settings.fewFollowers).map((f): [string, string] => [f, n.fewAuthor]),
      ...n.followers.slice(0, this.settings.manyFollowers).map((f): [string, string] => [f, n.manyAuthor]),
    ];
    for (const [follower, followee] of follows)
      await writer.add(this.seeder.records.follow(follower, followee, at));
    const half = Math.floor(this.settings.smallPosts / 2);
    await this.writePosts(writer, n.narrowAuthors, n.narrowReader, half);
    await this.writePosts(writer, n.wideAuthors, n.wideReader, this.settings.smallPosts - half);
    await writer.flush();
    this.progress.done(`seeded cost-growth fixture: ${writer.written} keys`);
  }

  /** Everything measured at the small size. */
  async measureSmall(): Promise<void> {
    const n = this.names;
    this.postsSmall = await this.postsStored();
    const posts = `${this.postsSmall} posts stored`;
    await this.measureFeed("feed-small", posts, n.narrowReader);
    await this.measureFeed("feed-narrow", `following ${n.narrowAuthors.length}`, n.narrowReader);
    await this.measureFeed("feed-wide", `following ${n.wideAuthors.length}`, n.wideReader);
    await this.measureUserPosts("userposts-small", posts);
    await this.measureCompose("few", n.fewAuthor, n.followers.slice(0, this.settings.fewFollowers));
    await this.measureCompose("many", n.manyAuthor, n.followers.slice(0, this.settings.manyFollowers));
  }

  /** Adds posts by the narrow reader's accounts until the store holds about `largePosts`. */
  async growHistory(): Promise<void> {
    const missing = this.settings.largePosts - (await this.postsStored());
    if (this.settings.largePosts === 0 || missing <= 0) return;
    const writer = this.seeder.writer(`history up to ${this.settings.largePosts} posts`);
    for (let done = 0; done < missing; done += GROW_STEP) {
      await this.writePosts(
        writer,
        this.names.narrowAuthors,
        this.names.narrowReader,
        Math.min(GROW_STEP, missing - done),
      );
    }
    await writer.flush();
    this.progress.done(`grew history by ${missing} posts (${writer.written} keys)`);
  }

  async measureLarge(): Promise<void> {
    if (this.settings.largePosts === 0) return;
    this.postsLarge = await this.postsStored();
    const posts = `${this.postsLarge} posts stored`;
    await this.measureFeed("feed-large", posts, this.names.narrowReader);
    await this.measureUserPosts("userposts-large", posts);
  }

  results(): CostGrowthResults {
    const compare = (name: string, base: string, grown: string): Comparison => {
      const b = this.points.get(base)!;
      const g = this.points.get(grown);
      return { name, base: b, grown: g, ratio: g && ratio(g.p50, b.p50), ratioP99: g && ratio(g.p99, b.p99) };
    };
    return {
      postsStored: { small: this.postsSmall, large: this.postsLarge },
      comparisons: [
        compare("feed page vs posts stored", "feed-small", "feed-large"),
        compare("feed page vs accounts followed", "feed-narrow", "feed-wide"),
        compare("compose vs followers", "compose-few", "compose-many"),
        compare("visible in all feeds vs followers", "visible-few", "visible-many"),
        compare("user posts page vs author's posts", "userposts-small", "userposts-large"),
      ],
    };
  }

  /** `count` posts spread round-robin over `authors`, each fanned out to `reader`. */
  private async writePosts(
    writer: ReturnType<Seeder["writer"]>,
    authors: string[],
    reader: string,
    count: number,
  ): Promise<void> {
    const ids = this.seeder.postIds(this.random, count);
    for (let i = 0; i < ids.length; i++) {
      await this.seeder.post(
        writer,
        ids[i]!,
        authors[i % authors.length]!,
        this.seeder.seedText(this.random),
        [reader],
      );
    }
  }

  private async postsStored(): Promise<number> {
    const prefix = this.seeder.store.keys.post("");
    const found = await this.seeder.store.range({
      key: Buffer.from(prefix),
      range_end: prefixEnd(prefix),
      count_only: true,
    });
    return Number(found.count);
  }

  private async measureFeed(point: string, label: string, reader: string): Promise<void> {
    const token = this.tokens.get(reader)!;
    await this.sample(point, label, this.settings.readSamples, async () => {
      const answer = await this.http.request("GET", "/api/v1/feed?limit=20", token);
      return answer.status === 200 ? undefined : `http ${answer.status}`;
    });
  }

  private async measureUserPosts(point: string, label: string): Promise<void> {
    const author = this.names.narrowAuthors[0]!;
    await this.sample(point, `${label}, ${author}`, this.settings.readSamples, async () => {
      const answer = await this.http.request("GET", `/api/v1/users/${author}/posts?limit=10`);
      return answer.status === 200 ? undefined : `http ${answer.status}`;
    });
  }

  /** Compose latency, and the time from sending until the post is in every follower's feed. */
  private async measureCompose(size: "few" | "many", author: string, followers: string[]): Promise<void> {
    const token = this.tokens.get(author)!;
    const composed = new Recorder();
    const visible = new Recorder();
    const label = `${followers.length} followers`;
    await this.sample(`compose+visible-${size}`, label, this.settings.composeSamples, async () => {
      const t0 = performance.now();
      const answer = await this.http.request("POST", "/api/v1/posts", token, {
        text: randomText(this.random, 256),
      });
      composed.record(performance.now() - t0, answer.status === 201 ? undefined : `http ${answer.status}`);
      if (answer.status !== 201) return `http ${answer.status}`;
      const id = (JSON.parse(answer.body) as { id: string }).id;
      const error = await this.waitVisible(id, followers, t0 + VISIBILITY_DEADLINE_MS).catch(describeError);
      visible.record(performance.now() - t0, error);
      return undefined;
    });
    // Compose is the time to the 201 alone; delivery into every feed is reported apart.
    this.points.set(`compose-${size}`, point(label, composed));
    this.points.set(`visible-${size}`, point(label, visible));
  }

  /**
   * Resolves once `postId` is in every follower's feed: each feed entry key is checked in
   * etcd (the fan-out writes one per follower), and the first followers' feeds are also
   * read through the API, as they would see it.
   */
  private async waitVisible(
    postId: string,
    followers: string[],
    deadline: number,
  ): Promise<string | undefined> {
    const { store } = this.seeder;
    const inStore = async () => {
      let missing = followers;
      while (missing.length > 0) {
        const answers = await store.readInBatches(
          missing.map((f) => countOp(store.keys.feedEntry(f, postId))),
        );
        missing = missing.filter((_, i) => Number(answers[i]?.count ?? 0) === 0);
        if (missing.length === 0) return;
        if (performance.now() > deadline)
          throw new Error(`not in ${missing.length} feeds after ${VISIBILITY_DEADLINE_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const viaApi = async (follower: string) => {
      const token = this.tokens.get(follower);
      if (token === undefined) return;
      for (;;) {
        const answer = await this.http.request("GET", "/api/v1/feed?limit=20", token);
        if (answer.status === 200 && answer.body.includes(postId)) return;
        if (performance.now() > deadline)
          throw new Error(`not in ${follower}'s feed after ${VISIBILITY_DEADLINE_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await Promise.all([inStore(), ...followers.slice(0, API_SAMPLE_FOLLOWERS).map(viaApi)]);
    return undefined;
  }

  /** Up to `count` calls one after another, stopping early once the time budget is spent. */
  private async sample(
    name: string,
    label: string,
    count: number,
    call: () => Promise<string | undefined>,
  ): Promise<void> {
    const recorder = new Recorder();
    const budgetEnd = performance.now() + this.settings.sampleBudgetSeconds * 1000;
    for (let i = 0; i < Math.max(1, count) && (i === 0 || performance.now() < budgetEnd); i++) {
      const t0 = performance.now();
      const error = await call().catch(describeError);
      recorder.record(performance.now() - t0, error);
      this.progress.update(`cost growth ${name} (${label}): ${i + 1}/${count}`);
    }
    const measured = point(label, recorder);
    this.points.set(name, measured);
    this.progress.done(
      `cost growth ${name.padEnd(16)} ${label}: p50 ${measured.p50} ms  p99 ${measured.p99} ms  errors ${measured.errors}`,
    );
  }
}

function point(label: string, recorder: Recorder): Point {
  const { opsPerSecond: _rate, ...summary } = recorder.summary(0);
  return { label, ...summary };
}
