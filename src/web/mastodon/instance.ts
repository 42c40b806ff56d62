import { crc32, deflateSync } from "node:zlib";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WebContext } from "../context.js";
import { MastodonBackend } from "./backend.js";
import { ACCOUNT_LIMITS, AVATAR_PATH, HEADER_PATH, STATUS_LIMITS } from "./entities.js";
import { originOf, streamingOriginOf } from "./http.js";

/** Flock's own version (package.json), in NodeInfo and in the Mastodon version string. */
export const FLOCK_VERSION = "0.1.0";
/**
 * What clients read as the server's Mastodon version: the 4.2 API (v2 instance, no
 * api_versions), with Flock's name as semver build metadata, which strict semver parsers
 * (Phanpy's) accept, unlike "4.2.0 (compatible; Flock …)".
 */
export const MASTODON_VERSION = `4.2.0+flock-${FLOCK_VERSION}`;

const MEDIA_NONE = {
  supported_mime_types: [],
  image_size_limit: 0,
  image_matrix_limit: 0,
  video_size_limit: 0,
  video_frame_rate_limit: 0,
  video_matrix_limit: 0,
};
const POLLS_NONE = { max_options: 0, max_characters_per_option: 0, min_expiration: 0, max_expiration: 0 };

/**
 * Discovery: the instance (v1 and v2), NodeInfo 2.0, the default avatar and header images, and
 * the documented empty answers to what apps ask for at start-up that Flock does not have
 * (custom emojis, filters, lists…): an app that gets a 404 there often refuses to start.
 */
export function instanceRoutes(app: FastifyInstance, ctx: WebContext): void {
  const stats = async (request: FastifyRequest) => {
    const api = new MastodonBackend(ctx, request);
    const c = api.clients;
    return api.run(c.call(c.posts, c.posts.getStats, {}, api.as(false)));
  };

  app.get("/api/v1/instance", async (request) => {
    const origin = originOf(ctx, request);
    const counts = await stats(request);
    return {
      uri: new URL(origin).host,
      title: "Flock",
      short_description: "Short posts from the people you follow.",
      description: "Flock: short posts from the people you follow.",
      email: "",
      version: MASTODON_VERSION,
      urls: { streaming_api: streamingOriginOf(origin) },
      stats: { user_count: counts.accounts, status_count: counts.posts, domain_count: 0 },
      thumbnail: origin + HEADER_PATH,
      languages: ["en"],
      registrations: true,
      approval_required: false,
      invites_enabled: false,
      configuration: {
        accounts: { max_featured_tags: 0 },
        statuses: STATUS_LIMITS,
        media_attachments: MEDIA_NONE,
        polls: POLLS_NONE,
      },
      contact_account: null,
      rules: [],
    };
  });

  app.get("/api/v2/instance", async (request) => {
    const origin = originOf(ctx, request);
    const counts = await stats(request);
    return {
      domain: new URL(origin).host,
      title: "Flock",
      version: MASTODON_VERSION,
      source_url: `${origin}/`,
      description: "Short posts from the people you follow.",
      usage: { users: { active_month: counts.accounts } },
      thumbnail: { url: origin + HEADER_PATH },
      icon: [],
      languages: ["en"],
      configuration: {
        urls: {
          streaming: streamingOriginOf(origin),
          status: null,
          about: `${origin}/`,
          privacy_policy: null,
          terms_of_service: null,
        },
        accounts: ACCOUNT_LIMITS,
        statuses: STATUS_LIMITS,
        media_attachments: { ...MEDIA_NONE, description_limit: 0 },
        polls: POLLS_NONE,
        translation: { enabled: false },
      },
      registrations: { enabled: true, approval_required: false, message: null, url: `${origin}/signup` },
      contact: { email: "", account: null },
      rules: [],
    };
  });

  app.get("/.well-known/nodeinfo", async (request) => {
    const origin = originOf(ctx, request);
    return {
      links: [{ rel: "http://nodeinfo.diaspora.software/ns/schema/2.0", href: `${origin}/nodeinfo/2.0` }],
    };
  });

  app.get("/nodeinfo/2.0", async (request, reply) => {
    const counts = await stats(request);
    reply.type('application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"; charset=utf-8');
    return {
      version: "2.0",
      software: { name: "flock", version: FLOCK_VERSION },
      // Flock does not federate; the schema asks for at least one protocol, and every server
      // speaking the Mastodon client API names this one.
      protocols: ["activitypub"],
      services: { inbound: [], outbound: [] },
      openRegistrations: true,
      usage: {
        users: { total: counts.accounts, activeMonth: counts.accounts, activeHalfyear: counts.accounts },
        localPosts: counts.posts,
      },
      // megalodon's server detection reads metadata.upstream (a missing metadata crashes it).
      metadata: { upstream: { name: "mastodon", version: "4.2.0" } },
    };
  });

  const avatar = solidPng(96, 96, [0x9a, 0xa4, 0xb1]);
  const header = solidPng(1, 1, [0xcc, 0xd3, 0xdb]);
  for (const [path, png] of [
    [AVATAR_PATH, avatar],
    [HEADER_PATH, header],
  ] as const) {
    app.get(path, async (_request, reply) =>
      reply
        .type("image/png")
        .header("cache-control", "public, max-age=86400")
        // Browser clients on other origins show these as <img>: let them.
        .header("cross-origin-resource-policy", "cross-origin")
        .send(png),
    );
  }

  // Start-up calls of common apps, answered with the documented empty values.
  const empty = (path: string, value: unknown) => app.get(path, async () => value);
  for (const path of [
    "/api/v1/custom_emojis",
    "/api/v1/filters",
    "/api/v2/filters",
    "/api/v1/lists",
    "/api/v1/announcements",
    "/api/v1/followed_tags",
    "/api/v1/trends/tags",
    "/api/v1/trends/statuses",
    "/api/v1/trends/links",
    "/api/v2/suggestions",
    "/api/v1/bookmarks",
    "/api/v1/conversations",
    "/api/v1/follow_requests",
    "/api/v1/endorsements",
    "/api/v1/featured_tags",
    "/api/v1/domain_blocks",
    "/api/v1/scheduled_statuses",
    "/api/v1/instance/rules",
    "/api/v1/instance/peers",
  ]) {
    empty(path, []);
  }
  empty("/api/v1/markers", {});
  empty("/api/v1/preferences", {
    "posting:default:visibility": "public",
    "posting:default:sensitive": false,
    "posting:default:language": null,
    "reading:expand:media": "default",
    "reading:expand:spoilers": false,
  });
}

/** A PNG of one colour (the default avatar and header), made once at start. */
export function solidPng(width: number, height: number, rgb: readonly [number, number, number]): Buffer {
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
