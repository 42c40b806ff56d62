import type { FeedItem, Notification, StreamEvent } from "../../gen/flock/posts/v1/posts.js";
import { StreamEventKind } from "../../gen/flock/posts/v1/posts.js";
import type { WatchEvent } from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { WatchCache } from "../../storage/watch-cache.js";
import type { GraphView } from "../graph/view.js";
import type { NotificationEntry, NotificationsView } from "./notifications-view.js";
import type { DeletedPost, PostsView, TimelineEntry } from "./view.js";
import { isRepost } from "./view.js";

/** What a subscriber's events are turned into on the wire (presentation needs texts: async). */
export interface LivePresenter {
  item(entry: TimelineEntry, viewer: string): Promise<FeedItem>;
  notification(entry: NotificationEntry, viewer: string): Promise<Notification>;
}

/** An open stream, as its holder sees it. */
export interface LiveSubscription {
  /** Ends it: no more events are sent. */
  close(): void;
  /**
   * Queues a heartbeat behind the events already queued for this stream: its revision (how far
   * the view had got when it was queued) is then a safe place to resume from, since every event
   * at or below it has been sent before it.
   */
  heartbeat(): void;
}

/** One open stream: events go to `send`, one at a time, in commit order. */
interface Subscriber {
  viewer: string;
  send: (event: StreamEvent) => void;
  /** Ends the stream: an event could not be presented, so the client must resume to get it. */
  fail: (err: unknown) => void;
  /** Events are presented (async) in order: each waits for the previous. */
  queue: Promise<void>;
  closed: boolean;
}

type Pending =
  | { revision: number; kind: "post"; entry: TimelineEntry; to: readonly Subscriber[] }
  | { revision: number; kind: "delete"; id: number; to: readonly Subscriber[] }
  | { revision: number; kind: "notification"; entry: NotificationEntry; to: readonly Subscriber[] };

/**
 * Live updates: each backend turns the changes its watch applies into events for the streams
 * it holds (a new entry of a subscriber's home feed, a delete of a post they may have seen, a
 * notification), in commit order. A stream that resumes after revision R first gets what it
 * missed, rebuilt from the views (the feed and notifications above R, the deletes the view
 * still remembers), then the live events, whose revisions are all above what it replayed.
 */
export class LiveEvents {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private notificationsOfBatch: NotificationEntry[] = [];

  constructor(
    private readonly cache: WatchCache,
    private readonly keys: Keys,
    private readonly posts: PostsView,
    private readonly graph: GraphView,
    private readonly notifications: NotificationsView,
    private readonly present: LivePresenter,
  ) {
    notifications.onNotification((entry) => this.notificationsOfBatch.push(entry));
    cache.onApplied((events) => this.applied(events));
  }

  /** Streams open on this backend. */
  get open(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  /**
   * Opens a stream for `viewer` after position `after` (revision 0: from now). Call with a
   * fresh view: replay and live events then meet without a gap or an overlap. Returns how to
   * close it and to send it heartbeats.
   */
  subscribe(
    viewer: string,
    after: StreamPosition,
    send: (event: StreamEvent) => void,
    fail: (err: unknown) => void,
  ): LiveSubscription {
    const subscriber: Subscriber = { viewer, send, fail, queue: Promise.resolve(), closed: false };
    let set = this.subscribers.get(viewer);
    if (!set) this.subscribers.set(viewer, (set = new Set()));
    set.add(subscriber);
    if (after.revision > 0) for (const pending of this.replay(subscriber, after)) this.deliver(pending);
    return {
      close: () => {
        subscriber.closed = true;
        const mine = this.subscribers.get(viewer);
        mine?.delete(subscriber);
        if (mine?.size === 0) this.subscribers.delete(viewer);
      },
      heartbeat: () => {
        // The revision is taken now: every event up to it has been queued (applied() queues a
        // batch's events synchronously, right after the view reached its revision).
        const beat = this.heartbeat();
        subscriber.queue = subscriber.queue.then(() => {
          if (!subscriber.closed) subscriber.send(beat);
        });
      },
    };
  }

  /** A heartbeat, telling how far this backend's view has got: past every event of its revision. */
  heartbeat(): StreamEvent {
    return event(this.cache.revision, LAST_SEQ, StreamEventKind.STREAM_EVENT_KIND_HEARTBEAT);
  }

  private replay(subscriber: Subscriber, after: StreamPosition): Pending[] {
    const { viewer } = subscriber;
    const to = [subscriber];
    // A notification comes after the feed's event of the same revision (seq 1 after seq 0).
    const notificationsAfter = after.seq >= NOTIFICATION_SEQ ? after.revision : after.revision - 1;
    const pending: Pending[] = [
      ...this.posts
        .feedSince(viewer, after.revision)
        .map((entry) => ({ revision: entry.id, kind: "post" as const, entry, to })),
      ...this.notifications
        .since(viewer, notificationsAfter)
        .map((entry) => ({ revision: entry.id, kind: "notification" as const, entry, to })),
      ...this.posts
        .deletesSince(after.revision)
        .filter((deleted) => this.mayHaveSeen(viewer, deleted))
        .map((deleted) => ({ revision: deleted.revision, kind: "delete" as const, id: deleted.id, to })),
    ];
    return pending.sort(inStreamOrder);
  }

  private applied(events: readonly WatchEvent[]): void {
    const notifications = this.notificationsOfBatch;
    this.notificationsOfBatch = [];
    if (this.subscribers.size === 0) return;
    const pending: Pending[] = [];
    for (const event of events) {
      const { key } = event.kv;
      if (event.type === "put" && event.kv.createRevision === event.kv.modRevision) {
        const entry = this.timelineEntryOf(key, event.kv.createRevision);
        if (entry) {
          const to = this.audience(isRepost(entry) ? entry.by : entry.author, (viewer) =>
            this.posts.inFeed(viewer, entry),
          );
          if (to.length > 0) pending.push({ revision: entry.id, kind: "post", entry, to });
        }
      } else if (event.type === "delete" && key.startsWith(this.keys.posts) && event.prevKv) {
        const deleted = this.posts
          .deletesSince(event.kv.modRevision - 1)
          .find((d) => d.id === event.prevKv!.createRevision);
        if (!deleted) continue;
        const to = [...this.subscribers.values()]
          .flatMap((set) => [...set])
          .filter((s) => this.mayHaveSeen(s.viewer, deleted));
        if (to.length > 0) pending.push({ revision: deleted.revision, kind: "delete", id: deleted.id, to });
      }
    }
    for (const entry of notifications) {
      const to = [...(this.subscribers.get(entry.to) ?? [])];
      if (to.length > 0 && this.notifications.visible(entry))
        pending.push({ revision: entry.id, kind: "notification", entry, to });
    }
    pending.sort(inStreamOrder);
    for (const item of pending) this.deliver(item);
  }

  /** The new post or repost a key's creation made, if it is one. */
  private timelineEntryOf(key: string, revision: number): TimelineEntry | undefined {
    if (key.startsWith(this.keys.posts)) return this.posts.post(revision);
    if (!key.startsWith(this.keys.reposts)) return undefined;
    const [postId, by] = key.slice(this.keys.reposts.length).split("/");
    const repost = by ? this.posts.repostOf(by, Number(postId)) : undefined;
    return repost?.id === revision ? repost : undefined;
  }

  /** Subscribers following `author` for whom `accepts` holds (the smaller side is walked). */
  private audience(author: string, accepts: (viewer: string) => boolean): Subscriber[] {
    const followers = this.graph.followersOf(author);
    const viewers =
      followers.length <= this.subscribers.size
        ? followers.filter((v) => this.subscribers.has(v))
        : [...this.subscribers.keys()].filter((v) => this.graph.isFollowing(v, author));
    return viewers.filter(accepts).flatMap((v) => [...(this.subscribers.get(v) ?? [])]);
  }

  /** Whether a deleted post could have been in `viewer`'s feed or was theirs. */
  private mayHaveSeen(viewer: string, deleted: DeletedPost): boolean {
    return (
      viewer === deleted.author ||
      this.graph.isFollowing(viewer, deleted.author) ||
      deleted.repostedBy.some((by) => this.graph.isFollowing(viewer, by))
    );
  }

  private deliver(pending: Pending): void {
    for (const subscriber of pending.to) {
      subscriber.queue = subscriber.queue
        .then(async () => {
          if (subscriber.closed) return;
          const { revision } = pending;
          if (pending.kind === "post") {
            const item = await this.present.item(pending.entry, subscriber.viewer);
            if (!subscriber.closed)
              subscriber.send(event(revision, 0, StreamEventKind.STREAM_EVENT_KIND_POST, { item }));
          } else if (pending.kind === "delete") {
            subscriber.send(
              event(revision, 0, StreamEventKind.STREAM_EVENT_KIND_DELETE, { deletedId: String(pending.id) }),
            );
          } else {
            const notification = await this.present.notification(pending.entry, subscriber.viewer);
            if (!subscriber.closed)
              subscriber.send(
                event(revision, NOTIFICATION_SEQ, StreamEventKind.STREAM_EVENT_KIND_NOTIFICATION, {
                  notification,
                }),
              );
          }
        })
        // A presentation that failed (a text unreadable now) ends the stream rather than skip an
        // event: the client resumes from the last event it got and is sent this one again.
        .catch((err: unknown) => {
          if (subscriber.closed) return;
          subscriber.closed = true;
          subscriber.fail(err);
        });
    }
  }
}

/**
 * Where a stream stands: a commit revision, and which of that revision's events (a reply from
 * someone you follow is both a new feed entry, seq 0, and a notification, seq 1). On the wire
 * "R" is (R, 0) and "R.1" is (R, 1); a stream resumes after the position of the last event it got.
 */
export interface StreamPosition {
  revision: number;
  seq: number;
}

const NOTIFICATION_SEQ = 1;
const LAST_SEQ = NOTIFICATION_SEQ;
const POSITION = /^(0|[1-9][0-9]{0,15})(?:\.([01]))?$/;

/** Parses a position as the wire writes it; undefined when it is not one. */
export function parsePosition(raw: string): StreamPosition | undefined {
  const match = POSITION.exec(raw);
  return match ? { revision: Number(match[1]), seq: Number(match[2] ?? 0) } : undefined;
}

export function formatPosition(revision: number, seq: number): string {
  return seq === 0 ? String(revision) : `${revision}.${seq}`;
}

function inStreamOrder(a: Pending, b: Pending): number {
  return a.revision - b.revision || seqOf(a) - seqOf(b);
}

function seqOf(pending: Pending): number {
  return pending.kind === "notification" ? NOTIFICATION_SEQ : 0;
}

function event(
  revision: number,
  seq: number,
  kind: StreamEventKind,
  parts: Partial<StreamEvent> = {},
): StreamEvent {
  return {
    revision: formatPosition(revision, seq),
    kind,
    item: undefined,
    deletedId: "",
    notification: undefined,
    ...parts,
  };
}
