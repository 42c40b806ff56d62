import type { FeedItem, Notification, Post } from "../../gen/flock/posts/v1/posts.js";
import { NotificationType } from "../../gen/flock/posts/v1/posts.js";
import type { AccountsView } from "../accounts/view.js";
import type { PostsFacts } from "./facts.js";
import type { NotificationEntry, NotificationKind } from "./notifications-view.js";
import { isRepost, postOf, type PostEntry, type PostsView, type TimelineEntry } from "./view.js";

/**
 * Turns view entries into wire posts for one viewer ("" when anonymous): counts, the viewer's
 * own likes and reposts, the author's display name, and the texts the view let go: from the
 * view's recently read texts, or else read from the store in one go (and remembered there).
 */
export class PostPresenter {
  constructor(
    private readonly view: PostsView,
    private readonly accounts: AccountsView,
    private readonly facts: PostsFacts,
  ) {}

  async posts(entries: readonly PostEntry[], viewer: string): Promise<Post[]> {
    const texts = await this.textsFor(entries);
    return entries.map((post) => this.post(post, viewer, texts));
  }

  async items(entries: readonly TimelineEntry[], viewer: string): Promise<FeedItem[]> {
    const texts = await this.textsFor(entries.map(postOf));
    return entries.map((entry) => ({
      post: this.post(postOf(entry), viewer, texts),
      repostedBy: isRepost(entry) ? entry.by : "",
      repostedAtMs: isRepost(entry) ? entry.createdAtMs : 0,
      entryId: String(entry.id),
    }));
  }

  /** Notifications, each with the post it is about (as `viewer` sees it; none once deleted). */
  async notifications(entries: readonly NotificationEntry[], viewer: string): Promise<Notification[]> {
    const about = entries.map((e) => (e.postId !== 0 ? this.view.post(e.postId) : undefined));
    const presented = new Map(
      (
        await this.posts(
          about.filter((p): p is PostEntry => p !== undefined),
          viewer,
        )
      ).map((p) => [p.id, p]),
    );
    return entries.map((entry, i) => ({
      id: String(entry.id),
      type: TYPE_OF_KIND[entry.kind],
      from: entry.from,
      createdAtMs: entry.createdAtMs,
      post: about[i] ? presented.get(String(about[i]!.id)) : undefined,
    }));
  }

  /** A deleted post as a thread shows an ancestor that is gone: its id and nothing else. */
  placeholder(id: number): Post {
    return {
      id: String(id),
      author: "",
      text: "",
      createdAtMs: 0,
      inReplyTo: "",
      inReplyToAuthor: "",
      replies: 0,
      likes: 0,
      reposts: 0,
      liked: false,
      reposted: false,
      mentions: [],
      tags: [],
      deleted: true,
      authorDisplayName: "",
    };
  }

  private post(post: PostEntry, viewer: string, texts: Map<number, string>): Post {
    const parent = post.inReplyTo !== 0 ? this.view.post(post.inReplyTo) : undefined;
    return {
      id: String(post.id),
      author: post.author,
      text: post.text ?? texts.get(post.id) ?? "",
      createdAtMs: post.createdAtMs,
      inReplyTo: post.inReplyTo !== 0 ? String(post.inReplyTo) : "",
      inReplyToAuthor: parent?.author ?? "",
      replies: post.replies,
      likes: post.likes,
      reposts: post.reposts,
      liked: viewer !== "" && this.view.hasLiked(viewer, post.id),
      reposted: viewer !== "" && this.view.repostOf(viewer, post.id) !== undefined,
      mentions: [...post.mentions],
      tags: [...post.tags],
      deleted: false,
      authorDisplayName: this.accounts.account(post.author)?.displayName ?? "",
    };
  }

  /** Texts of `posts` that memory does not hold, by post id: read from the store in one go. */
  private async textsFor(posts: readonly PostEntry[]): Promise<Map<number, string>> {
    const texts = new Map<number, string>();
    const missing: PostEntry[] = [];
    for (const post of posts) {
      if (post.text !== undefined || post.deleted) continue;
      const recent = this.view.textOf(post);
      if (recent !== undefined) texts.set(post.id, recent);
      else missing.push(post);
    }
    if (missing.length === 0) return texts;
    const keys = missing.map((post) => this.view.storeKey(post));
    const read = await this.facts.texts(keys);
    for (const [i, post] of missing.entries()) {
      const text = read.get(keys[i]!);
      if (text === undefined) continue;
      texts.set(post.id, text);
      this.view.rememberText(post, text);
    }
    return texts;
  }
}

export const TYPE_OF_KIND: Record<NotificationKind, NotificationType> = {
  follow: NotificationType.NOTIFICATION_TYPE_FOLLOW,
  like: NotificationType.NOTIFICATION_TYPE_LIKE,
  repost: NotificationType.NOTIFICATION_TYPE_REPOST,
  reply: NotificationType.NOTIFICATION_TYPE_REPLY,
  mention: NotificationType.NOTIFICATION_TYPE_MENTION,
};
