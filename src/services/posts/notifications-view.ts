import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import { text } from "../../storage/kv.js";
import { lowerBoundById } from "../../shared/sorted.js";
import type { Keys } from "../../storage/keys.js";
import type { Projection } from "../../storage/watch-cache.js";
import type { GraphView } from "../graph/view.js";
import type { PostEntry, PostsView } from "./view.js";

export type NotificationKind = "follow" | "like" | "repost" | "reply" | "mention";

/** A notification, derived from a fact; its id is that fact's create revision. */
export interface NotificationEntry {
  id: number;
  kind: NotificationKind;
  from: string;
  to: string;
  /** The post it is about (0 for a follow). */
  postId: number;
  createdAtMs: number;
}

export interface NotificationSlice {
  entries: NotificationEntry[];
  more: boolean;
}

/**
 * Notifications as every backend derives them from the facts: a follow notifies the followed,
 * a like or a repost the post's author, a reply the parent's author, a mention each account
 * the post names (one notification per post and person: a reply that also mentions its
 * parent's author is a reply). Never for one's own actions. A notification lasts as long as
 * its fact: an unlike takes it back, a deleted post takes its reply and mentions back. What a
 * user has read, dismissed or cleared is a fact of theirs too (`p/nread/`, `p/ndismiss/`,
 * `p/nclear/`). Registered after the posts view, so every post it names is already there.
 */
export class NotificationsView implements Projection {
  readonly prefixes: readonly string[];
  private readonly byUser = new Map<string, NotificationEntry[]>();
  private readonly readMarks = new Map<string, number>();
  private readonly clearMarks = new Map<string, number>();
  private readonly dismissed = new Map<string, Set<number>>();
  private pending: KeyValue[] = [];
  private readonly listeners = new Set<(entry: NotificationEntry) => void>();

  constructor(
    private readonly keys: Keys,
    private readonly posts: PostsView,
    private readonly graph: GraphView,
  ) {
    this.prefixes = [
      keys.follows,
      keys.posts,
      keys.likes,
      keys.reposts,
      keys.notificationsReadMarks,
      keys.notificationsDismissed,
      keys.notificationsClearMarks,
    ];
  }

  reset(): void {
    this.byUser.clear();
    this.readMarks.clear();
    this.clearMarks.clear();
    this.dismissed.clear();
    this.pending = [];
  }

  /**
   * Keeps the facts other than posts until every range is in. Posts are taken from the posts
   * view once it has loaded: holding their raw values too would keep every text twice in
   * memory while a snapshot loads.
   */
  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) if (!kv.key.startsWith(this.keys.posts)) this.pending.push(kv);
  }

  loaded(): void {
    const facts = this.pending;
    this.pending = [];
    for (const kv of facts) this.put(kv, true);
    this.posts.forEachPost((post) => {
      for (const entry of this.aboutPost(post)) listOf(this.byUser, entry.to).push(entry);
    });
    // Derived out of commit order (facts by range, then posts): each list is sorted once.
    for (const list of this.byUser.values()) list.sort((a, b) => a.id - b.id);
  }

  apply(event: WatchEvent): void {
    if (event.type === "put") this.put(event.kv, false);
    else if (event.prevKv) this.remove(event.prevKv);
  }

  /** Called with each notification as it is derived from a live change (not from a snapshot). */
  onNotification(listener: (entry: NotificationEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * `user`'s visible notifications, newest first, with ids below `before`; with `after`, the
   * `limit` oldest above it (answered newest first: Mastodon's min_id).
   */
  list(
    user: string,
    before: number | undefined,
    limit: number,
    kinds?: ReadonlySet<NotificationKind>,
    after?: number,
  ): NotificationSlice {
    const all = this.byUser.get(user) ?? [];
    const entries: NotificationEntry[] = [];
    if (after !== undefined) {
      for (let i = lowerBoundById(all, after + 1); i < all.length && all[i]!.id < (before ?? Infinity); i++) {
        const entry = all[i]!;
        if (!this.visible(entry) || (kinds && !kinds.has(entry.kind))) continue;
        if (entries.length === limit) return { entries: entries.reverse(), more: true };
        entries.push(entry);
      }
      return { entries: entries.reverse(), more: false };
    }
    let i = (before === undefined ? all.length : lowerBoundById(all, before)) - 1;
    for (; i >= 0; i--) {
      const entry = all[i]!;
      if (!this.visible(entry) || (kinds && !kinds.has(entry.kind))) continue;
      if (entries.length === limit) return { entries, more: true };
      entries.push(entry);
    }
    return { entries, more: false };
  }

  /** `user`'s visible notifications with ids above `after`, oldest first (a stream resuming). */
  since(user: string, after: number): NotificationEntry[] {
    const all = this.byUser.get(user) ?? [];
    return all.slice(lowerBoundById(all, after + 1)).filter((n) => this.visible(n));
  }

  /** One of `user`'s visible notifications. */
  get(user: string, id: number): NotificationEntry | undefined {
    const all = this.byUser.get(user) ?? [];
    const entry = all[lowerBoundById(all, id)];
    return entry?.id === id && this.visible(entry) ? entry : undefined;
  }

  readMark(user: string): number {
    return this.readMarks.get(user) ?? 0;
  }

  /** Visible notifications newer than the read mark. */
  unread(user: string): number {
    const all = this.byUser.get(user) ?? [];
    let count = 0;
    for (let i = all.length - 1; i >= 0 && all[i]!.id > this.readMark(user); i--) {
      if (this.visible(all[i]!)) count++;
    }
    return count;
  }

  /** Shown to its recipient: not dismissed or cleared, not from an account they block, are blocked by, or mute. */
  visible(entry: NotificationEntry): boolean {
    if (entry.id <= (this.clearMarks.get(entry.to) ?? 0)) return false;
    if (this.dismissed.get(entry.to)?.has(entry.id)) return false;
    return !this.graph.eitherBlocks(entry.to, entry.from) && !this.graph.isMuting(entry.to, entry.from);
  }

  /** Everything this view holds, canonically ordered: two views of the same facts digest alike. */
  digest(): unknown {
    const users = [...this.byUser.keys()].sort();
    return {
      notifications: users.map((u) => [
        u,
        this.byUser.get(u)!.map((n) => `${n.id}:${n.kind}:${n.from}:${n.postId}`),
      ]),
      read: [...this.readMarks].sort(),
      cleared: [...this.clearMarks].sort(),
      dismissed: [...this.dismissed].map(([u, ids]) => [u, [...ids].sort((a, b) => a - b)]).sort(),
    };
  }

  private put(kv: KeyValue, loading: boolean): void {
    const { keys } = this;
    const key = kv.key;
    if (key.startsWith(keys.notificationsReadMarks)) {
      this.readMarks.set(key.slice(keys.notificationsReadMarks.length), Number(text(kv.value)) || 0);
      return;
    }
    if (key.startsWith(keys.notificationsClearMarks)) {
      this.clearMarks.set(key.slice(keys.notificationsClearMarks.length), Number(text(kv.value)) || 0);
      return;
    }
    if (key.startsWith(keys.notificationsDismissed)) {
      const [user, id] = key.slice(keys.notificationsDismissed.length).split("/");
      if (!user || !id) return;
      let set = this.dismissed.get(user);
      if (!set) this.dismissed.set(user, (set = new Set()));
      set.add(Number(id));
      return;
    }
    // A later version of a fact (an edited post, a follow re-put) notifies no one again.
    if (kv.createRevision !== kv.modRevision) return;
    for (const entry of this.derive(kv)) {
      const list = listOf(this.byUser, entry.to);
      // Loading: lists are sorted once every fact is in (see loaded()).
      if (loading || list.length === 0 || list[list.length - 1]!.id < entry.id) list.push(entry);
      else list.splice(lowerBoundById(list, entry.id), 0, entry);
      if (!loading) for (const listener of this.listeners) listener(entry);
    }
  }

  private remove(prev: KeyValue): void {
    const { keys } = this;
    const key = prev.key;
    if (key.startsWith(keys.notificationsReadMarks)) {
      this.readMarks.delete(key.slice(keys.notificationsReadMarks.length));
      return;
    }
    if (key.startsWith(keys.notificationsClearMarks)) {
      this.clearMarks.delete(key.slice(keys.notificationsClearMarks.length));
      return;
    }
    if (key.startsWith(keys.notificationsDismissed)) {
      const [user, id] = key.slice(keys.notificationsDismissed.length).split("/");
      if (user && id) this.dismissed.get(user)?.delete(Number(id));
      return;
    }
    for (const entry of this.derive(prev)) {
      const list = this.byUser.get(entry.to);
      if (!list) continue;
      const at = lowerBoundById(list, entry.id);
      if (list[at]?.id === entry.id && list[at]!.kind === entry.kind) list.splice(at, 1);
      if (list.length === 0) this.byUser.delete(entry.to);
    }
  }

  /** The notifications a fact makes (the same ones again when it is removed, to take back). */
  private derive(kv: KeyValue): readonly NotificationEntry[] {
    const { keys } = this;
    const id = kv.createRevision;
    const at = (ms: number) => ({ id, createdAtMs: ms });
    if (kv.key.startsWith(keys.follows)) {
      const [from, to] = kv.key.slice(keys.follows.length).split("/");
      if (!from || !to) return [];
      return [{ ...at(Number(text(kv.value)) || 0), kind: "follow", from, to, postId: 0 }];
    }
    if (kv.key.startsWith(keys.posts)) {
      const post = this.posts.anyPost(id);
      return post ? this.aboutPost(post) : [];
    }
    for (const [prefix, kind] of [
      [keys.likes, "like"],
      [keys.reposts, "repost"],
    ] as const) {
      if (!kv.key.startsWith(prefix)) continue;
      const [postId, from] = kv.key.slice(prefix.length).split("/");
      const post = this.posts.anyPost(Number(postId));
      if (!post || !from || from === post.author) return [];
      return [{ ...at(Number(text(kv.value)) || 0), kind, from, to: post.author, postId: post.id }];
    }
    return [];
  }

  /** A reply notifies the parent's author; a mention every other account it names, once each. */
  private aboutPost(post: PostEntry): readonly NotificationEntry[] {
    // Most posts notify nobody: no allocation for them (every post passes here at load).
    if (post.inReplyTo === 0 && post.mentions.length === 0) return NOBODY;
    const out: NotificationEntry[] = [];
    const base = { id: post.id, from: post.author, postId: post.id, createdAtMs: post.createdAtMs };
    const parentAuthor = post.inReplyTo !== 0 ? post.inReplyToAuthor : undefined;
    if (parentAuthor && parentAuthor !== post.author) out.push({ ...base, kind: "reply", to: parentAuthor });
    for (const name of post.mentions) {
      if (name !== post.author && name !== parentAuthor) out.push({ ...base, kind: "mention", to: name });
    }
    return out;
  }
}

const NOBODY: readonly NotificationEntry[] = Object.freeze([]);

function listOf<K, T>(map: Map<K, T[]>, key: K): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}
