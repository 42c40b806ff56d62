import type { FollowGraph } from "../deps.js";
import { postIdTime } from "../../shared/ids.js";
import type { FeedEntry, PostsStorage } from "./storage.js";

export interface DeliveryOptions {
  /** Followers read (and fanned out to) per step while delivering a post. */
  fanOutBatch: number;
  /** How often a backend looks for posts whose delivery nobody finished (0: never). */
  sweepIntervalMs: number;
  /** A post this old and still undelivered is taken over by the sweeper (its first deliverer died or failed). */
  sweepAfterMs: number;
  /** Undelivered posts taken per sweep. */
  sweepBatch: number;
  /** Entries a feed keeps; older ones are trimmed away (a feed is a recent window, like any timeline). */
  feedCap: number;
  /** Share of deliveries after which a follower's feed is trimmed, so trimming costs little per post. */
  trimRate: number;
}

/**
 * Delivers posts into followers' feeds after they are acknowledged. The store notes each
 * new post as undelivered in the same transaction that creates it; delivery writes a feed
 * entry per follower (idempotent puts), then clears the note. Whoever stored the post starts
 * delivering at once; if that process dies or fails, any backend's sweeper finishes the job.
 * Until then, readers find the post through the undelivered notes (see PostsService.getFeed),
 * so a post is in its followers' feeds from the moment it is acknowledged.
 */
export class Delivery {
  private readonly inFlight = new Map<string, Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly storage: PostsStorage,
    private readonly graph: FollowGraph,
    private readonly options: DeliveryOptions,
    private readonly now: () => number,
    private readonly onError: (entry: FeedEntry, err: unknown) => void = () => undefined,
  ) {}

  /** Starts delivering a post in the background; a second call for the same post joins the first. */
  start(entry: FeedEntry): Promise<void> {
    const running = this.inFlight.get(entry.id);
    if (running) return running;
    const delivery = this.deliver(entry)
      .catch((err: unknown) => this.onError(entry, err))
      .finally(() => this.inFlight.delete(entry.id));
    this.inFlight.set(entry.id, delivery);
    return delivery;
  }

  /** Resolves once every delivery started so far has finished (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  startSweeper(): void {
    if (this.options.sweepIntervalMs <= 0 || this.sweeper) return;
    this.sweeper = setInterval(() => void this.sweepOnce(), this.options.sweepIntervalMs);
    this.sweeper.unref();
  }

  stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Takes over deliveries that have been pending longer than sweepAfterMs. */
  async sweepOnce(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const pending = await this.storage.listUndelivered(this.options.sweepBatch);
      const stale = pending.filter((p) => this.now() - postIdTime(p.id) >= this.options.sweepAfterMs);
      await Promise.all(stale.map((p) => this.start(p)));
    } catch (err) {
      this.onError({ id: "", author: "" }, err);
    } finally {
      this.sweeping = false;
    }
  }

  /** Writes the post into every follower's feed, a page of followers at a time, then clears its note. */
  private async deliver(entry: FeedEntry): Promise<void> {
    const batch = this.options.fanOutBatch;
    let page = this.graph.followersPage(entry.author, undefined, batch);
    for (;;) {
      const followers = await page;
      const last = followers[followers.length - 1];
      // Read the next page of followers while this page's feed entries are written.
      if (followers.length === batch) page = this.graph.followersPage(entry.author, last, batch);
      if (followers.length > 0) await this.storage.fanOut(followers, entry);
      await this.trimSome(followers);
      if (followers.length < batch) break;
    }
    await this.storage.markDelivered(entry.id);
  }

  /** Trims the feeds of a random share of these readers back to feedCap entries. */
  private async trimSome(readers: readonly string[]): Promise<void> {
    const chosen = readers.filter(() => Math.random() < this.options.trimRate);
    await Promise.all(chosen.map((reader) => this.storage.trimFeed(reader, this.options.feedCap)));
  }
}
