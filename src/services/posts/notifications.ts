import {
  StreamEventKind,
  type Notification,
  type NotificationPage,
  type NotificationType,
  type StreamEvent,
} from "../../gen/flock/posts/v1/posts.js";
import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import { invalid, notFound, unauthenticated } from "../../shared/errors.js";
import { normalizeLimit } from "../../shared/validation.js";
import type { Keys } from "../../storage/keys.js";
import type { Freshness } from "../../storage/watch-cache.js";
import { viewerMay, type Authenticator } from "../shared/auth.js";
import type { ChangeOutcome, PostsFacts } from "./facts.js";
import { parsePosition, type LiveEvents, type LiveSubscription } from "./live.js";
import type { NotificationKind, NotificationsView } from "./notifications-view.js";
import { TYPE_OF_KIND, type PostPresenter } from "./present.js";

const ID = /^[1-9][0-9]{0,15}$/;

const KIND_OF_TYPE = new Map(
  (Object.entries(TYPE_OF_KIND) as [NotificationKind, NotificationType][]).map(([kind, type]) => [
    type,
    kind,
  ]),
);

/**
 * A user's notifications and live events. The notifications are derived by every backend's
 * view (see notifications-view.ts); what the user read, dismissed or cleared is written as
 * facts of theirs.
 */
export class NotificationsService {
  constructor(
    private readonly facts: PostsFacts,
    private readonly view: NotificationsView,
    private readonly present: PostPresenter,
    private readonly live: LiveEvents,
    private readonly freshness: Freshness,
    private readonly auth: Authenticator,
    private readonly keys: Keys,
  ) {}

  async list(
    token: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
    types: readonly NotificationType[] = [],
    rawAfterId = "",
  ): Promise<NotificationPage> {
    const limit = normalizeLimit(rawLimit);
    const before = decodeId(cursor);
    const after = rawAfterId === "" ? undefined : parseId(rawAfterId);
    const kinds = types.length > 0 ? new Set(types.map(kindOf)) : undefined;
    const user = (await this.auth.authenticate(token, "read:notifications")).username;
    const slice = this.view.list(user, before, limit, kinds, after);
    const last = slice.entries[slice.entries.length - 1];
    return {
      notifications: await this.present.notifications(slice.entries, user),
      // An ascending page (after_id) has no next cursor: the caller pages by ids.
      nextCursor: slice.more && last && after === undefined ? encodeCursor(String(last.id)) : "",
      unread: this.view.unread(user),
    };
  }

  async get(token: string, rawId: string): Promise<Notification> {
    const id = parseId(rawId);
    const user = (await this.auth.authenticate(token, "read:notifications")).username;
    const entry = this.view.get(user, id);
    if (!entry) throw notFound(`no notification ${id}`);
    return (await this.present.notifications([entry], user))[0]!;
  }

  /** Moves the read mark up to `upTo` (never down); returns how many are still unread. */
  async markRead(token: string, rawUpTo: string): Promise<number> {
    const upTo = parseId(rawUpTo);
    const viewer = await this.auth.authenticate(token, "write:notifications");
    if (upTo > this.view.readMark(viewer.username)) {
      await this.settle(
        await this.facts.mark(viewer, this.keys.notificationsRead(viewer.username), String(upTo)),
      );
    }
    return this.view.unread(viewer.username);
  }

  /** Hides one notification (`id`), or all up to `upTo`, or all (both empty). */
  async dismiss(token: string, rawId: string, rawUpTo: string): Promise<void> {
    const viewer = await this.auth.authenticate(token, "write:notifications");
    const user = viewer.username;
    if (rawId !== "") {
      const id = parseId(rawId);
      if (!this.view.get(user, id)) throw notFound(`no notification ${id}`);
      await this.settle(await this.facts.mark(viewer, this.keys.notificationDismissed(user, id), ""));
      return;
    }
    const upTo = rawUpTo === "" ? Number.MAX_SAFE_INTEGER : parseId(rawUpTo);
    await this.settle(await this.facts.mark(viewer, this.keys.notificationsCleared(user), String(upTo)));
  }

  /**
   * Opens the caller's live stream after revision `after` ("" or "0": from now). Resolves
   * to how to close it and send it heartbeats; events go to `send` in commit order.
   */
  async subscribe(
    token: string,
    rawAfter: string,
    send: (event: StreamEvent) => void,
    fail: (err: unknown) => void,
  ): Promise<LiveSubscription> {
    const after = rawAfter === "" ? { revision: 0, seq: 0 } : parsePosition(rawAfter);
    if (!after) throw invalid("a stream position is a revision, or a revision and .1");
    const viewer = await this.auth.authenticate(token, "read:statuses");
    // An OAuth token without read:notifications gets the feed's events, not the notifications.
    const deliver = viewerMay(viewer, "read:notifications")
      ? send
      : (event: StreamEvent) => {
          if (event.kind !== StreamEventKind.STREAM_EVENT_KIND_NOTIFICATION) send(event);
        };
    return this.live.subscribe(viewer.username, after, deliver, fail);
  }

  /** The heartbeat a stream sends when nothing happens. */
  heartbeat(): StreamEvent {
    return this.live.heartbeat();
  }

  private async settle(outcome: ChangeOutcome): Promise<void> {
    if (outcome.kind === "session-gone") throw unauthenticated("session expired or revoked");
    if (outcome.kind !== "done") throw notFound("nothing to change");
    await this.freshness.reached(outcome.revision);
  }
}

function kindOf(type: NotificationType): NotificationKind {
  const kind = KIND_OF_TYPE.get(type);
  if (!kind) throw invalid("unknown notification type");
  return kind;
}

function parseId(raw: string): number {
  if (!ID.test(raw)) throw invalid("an id is a positive whole number");
  return Number(raw);
}

function decodeId(cursor: string | undefined): number | undefined {
  const position = decodeCursor(cursor, (p) => ID.test(p));
  return position === undefined ? undefined : Number(position);
}
