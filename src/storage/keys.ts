import { prefixEnd } from "./kv.js";
import type { KeyRange } from "./watch-cache.js";
import { splitByNextChar } from "./watch-cache.js";

/**
 * THE key layout of Flock (layout v2): every key any service writes is built here.
 *
 * Facts are written once, one transaction per user action, a fixed small number of keys each;
 * nothing is written per follower. Every backend derives its views (feeds, counts,
 * notifications) from these facts through one watch (see watch-cache.ts).
 *
 *   <prefix>v2/
 *     a/acct/<user>                  AccountRecord: the public part of an account      accounts
 *     a/sess/<sha256(token)>         SessionRecord, under a lease shared by the sessions of one time bucket
 *     a/app/<clientId>               AppRecord: an OAuth client app (Mastodon client API)
 *     a/tok/<clientId>/<sha256(token)> SessionRecord of an OAuth access token (no lease; an app's
 *                                    tokens are one range, deleted with the app in one op)
 *     g/follow/<follower>/<followee> ""                                                 graph
 *     g/block/<blocker>/<blocked>    ""
 *     g/mute/<muter>/<muted>         ""
 *     p/post/<postKey>               PostRecord; the post's id is this key's create revision   posts
 *     p/like/<postId>/<user>         ""   (a post's likes: one range, deleted with it in one op)
 *     p/repost/<postId>/<user>       ""   (its reposts; the repost's id is this key's create revision)
 *     p/gone/<postId>                DeletedPostRecord: a deleted post's tombstone; its create revision is the delete's
 *     p/nread/<user>                 notification id up to which the user has read
 *     p/ndismiss/<user>/<id>         "" : one notification dismissed
 *     p/nclear/<user>                notification id up to which all are dismissed
 *     p/idem/<author>/<key>          postKey the client's Idempotency-Key created, under a one-day lease
 *     t/<service>                    "" : the service's tick, written by every transaction it commits
 *     _r/<service>/<id>              "" : a transaction's applied-mark, lasting an hour (writer.ts)
 *     _s/cred/<user>                 the password hash: outside the watched range     accounts
 *     _s/loginfail/<throttle key>    "<count> <nonce>", under a lease of the throttle window
 *     _s/appsecret/<clientId>        AppSecretRecord: the hash of an app's client secret
 *     _s/code/<sha256(code)>         AuthorizationCodeRecord, under a lease of the code's lifetime
 *
 * The watched range [v2/a/, v2/u) holds every fact a view needs and nothing secret: "_" sorts
 * before the lower-case letters, so `_s/` lies outside it, and each service's etcd role may
 * read the views' range and write only its own letters (deploy/etcd/roles.sh).
 *
 * Ticks: a read is linearizable once the view has applied the newest tick revision (see
 * watch-cache.ts); every transaction a service commits puts its tick, so that revision is
 * at least the revision of every write acknowledged before the read.
 *
 * "/" (0x2F) sorts below every username character [a-z0-9_], so `follow/<user>/` holds
 * exactly that user's keys. Post keys are hex, so a snapshot can read them in 256 small
 * ranges (etcd 3.4 walks a range's whole key span even under a limit).
 */
export const LAYOUT_VERSION = "v2";

export type Writer = "a" | "g" | "p";

const USERNAME_CHARS = "0123456789_abcdefghijklmnopqrstuvwxyz";
const HEX = "0123456789abcdef";
const DECIMAL = "0123456789";
const BASE64URL = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

export class Keys {
  readonly root: string;
  /** The prefix of each kind of key (set once: views test every loaded key against them). */
  readonly accounts: string;
  readonly sessions: string;
  readonly apps: string;
  readonly tokens: string;
  readonly follows: string;
  readonly blocks: string;
  readonly mutes: string;
  readonly posts: string;
  readonly likes: string;
  readonly reposts: string;
  readonly deletedPosts: string;
  readonly notificationsReadMarks: string;
  readonly notificationsDismissed: string;
  readonly notificationsClearMarks: string;

  constructor(prefix: string) {
    this.root = `${prefix}${LAYOUT_VERSION}/`;
    this.accounts = `${this.root}a/acct/`;
    this.sessions = `${this.root}a/sess/`;
    this.apps = `${this.root}a/app/`;
    this.tokens = `${this.root}a/tok/`;
    this.follows = `${this.root}g/follow/`;
    this.blocks = `${this.root}g/block/`;
    this.mutes = `${this.root}g/mute/`;
    this.posts = `${this.root}p/post/`;
    this.likes = `${this.root}p/like/`;
    this.reposts = `${this.root}p/repost/`;
    this.deletedPosts = `${this.root}p/gone/`;
    this.notificationsReadMarks = `${this.root}p/nread/`;
    this.notificationsDismissed = `${this.root}p/ndismiss/`;
    this.notificationsClearMarks = `${this.root}p/nclear/`;
  }

  // accounts
  account(username: string): string {
    return `${this.accounts}${username}`;
  }
  session(tokenHash: string): string {
    return `${this.sessions}${tokenHash}`;
  }
  app(clientId: string): string {
    return `${this.apps}${clientId}`;
  }
  token(clientId: string, tokenHash: string): string {
    return `${this.tokensOf(clientId)}${tokenHash}`;
  }
  tokensOf(clientId: string): string {
    return `${this.tokens}${clientId}/`;
  }
  appSecret(clientId: string): string {
    return `${this.root}_s/appsecret/${clientId}`;
  }
  authorizationCode(codeHash: string): string {
    return `${this.root}_s/code/${codeHash}`;
  }
  credentials(username: string): string {
    return `${this.root}_s/cred/${username}`;
  }
  /** Throttle keys are free text (they hold client addresses), so they are escaped to stay one segment. */
  loginFailures(throttleKey: string): string {
    return `${this.root}_s/loginfail/${encodeURIComponent(throttleKey)}`;
  }

  // graph
  follow(follower: string, followee: string): string {
    return `${this.follows}${follower}/${followee}`;
  }
  block(blocker: string, blocked: string): string {
    return `${this.blocks}${blocker}/${blocked}`;
  }
  mute(muter: string, muted: string): string {
    return `${this.mutes}${muter}/${muted}`;
  }

  // posts
  post(postKey: string): string {
    return `${this.posts}${postKey}`;
  }
  like(postId: number, user: string): string {
    return `${this.likesOf(postId)}${user}`;
  }
  likesOf(postId: number): string {
    return `${this.likes}${postId}/`;
  }
  repost(postId: number, user: string): string {
    return `${this.repostsOf(postId)}${user}`;
  }
  repostsOf(postId: number): string {
    return `${this.reposts}${postId}/`;
  }
  deletedPost(postId: number): string {
    return `${this.deletedPosts}${postId}`;
  }
  notificationsRead(user: string): string {
    return `${this.notificationsReadMarks}${user}`;
  }
  notificationDismissed(user: string, id: number): string {
    return `${this.notificationsDismissed}${user}/${id}`;
  }
  notificationsCleared(user: string): string {
    return `${this.notificationsClearMarks}${user}`;
  }
  idempotency(author: string, idempotencyKey: string): string {
    return `${this.root}p/idem/${author}/${idempotencyKey}`;
  }

  tick(writer: Writer): string {
    return `${this.root}t/${writer}`;
  }

  /** A write's applied-mark (see storage/writer.ts): outside the watched range, under a lease. */
  appliedMark(writer: Writer, id: string): string {
    return `${this.root}_r/${writer}/${id}`;
  }

  /** Everything the views are derived from: one contiguous range, so one watch sees it in order. */
  get watched(): KeyRange {
    return { key: `${this.root}a/`, end: `${this.root}u` };
  }

  get ticks(): KeyRange {
    return { key: `${this.root}t/`, end: `${this.root}t0` };
  }

  /**
   * What a snapshot reads, in dependency order: accounts, the graph, posts, then what refers
   * to posts (likes, reposts) and to notifications.
   */
  get loadRanges(): KeyRange[] {
    const whole = (prefix: string): KeyRange => ({ key: prefix, end: prefixEnd(prefix) });
    return [
      ...splitByNextChar(this.accounts, USERNAME_CHARS),
      ...splitByNextChar(this.sessions, BASE64URL),
      whole(this.apps),
      ...splitByNextChar(this.tokens, BASE64URL),
      ...splitByNextChar(this.follows, USERNAME_CHARS),
      whole(this.blocks),
      whole(this.mutes),
      ...[...HEX].flatMap((c) => splitByNextChar(this.posts + c, HEX)),
      ...splitByNextChar(this.likes, DECIMAL),
      ...splitByNextChar(this.reposts, DECIMAL),
      ...splitByNextChar(this.deletedPosts, DECIMAL),
      whole(this.notificationsReadMarks),
      whole(this.notificationsDismissed),
      whole(this.notificationsClearMarks),
    ];
  }

  /** The last segment of a key (a username or a post key in this layout). */
  static lastSegment(key: string): string {
    return key.slice(key.lastIndexOf("/") + 1);
  }
}
