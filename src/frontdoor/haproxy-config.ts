import type { FlockConfig, RateLimit, RateLimits } from "../shared/config.js";

/**
 * The front door is HAProxy (Debian's 2.6); this file writes its whole configuration from
 * Flock's settings, so every knob is an environment variable documented in the README and
 * nobody edits haproxy.cfg by hand. What it sets up:
 *
 * - `public` (PORT, 8080): the product only. Round robin over the web replicas whose /readyz
 *   answers 200 (active checks every PROBE_INTERVAL_MS); when none does, over all of them (each
 *   then answers 503 itself, or its pages that need no backend). A request is sent again, to
 *   another replica, only when the connection to one failed before anything was sent
 *   (`retry-on conn-failure`): never a request a replica may have acted on.
 *   X-Forwarded-For gets the client's address appended; web replicas believe only the last
 *   entries added by TRUSTED_PROXIES. Operations paths (/metrics, /cluster…) answer 404 here.
 * - Per-address limits in stick tables (sign-ups, logins, posts, follows; IPv6 counted per
 *   /64), a per-token limit, and a cap on each address's open connections; over a limit the
 *   answer is 429 with Retry-After. RATE_LIMITS=off leaves them all out.
 * - `admin` (ADMIN_HOST:ADMIN_PORT, 127.0.0.1:8090): Prometheus metrics (/metrics, HAProxy's
 *   own exporter), the stats page (/stats, /stats;csv), /readyz (a web replica is up) and the
 *   web tier's /cluster page. Keep it on a private network.
 * - Time limits against slow clients (headers within 10 s), `timeout tunnel` so upgraded
 *   connections (WebSockets) stay open, and JSON bodies for every error HAProxy answers itself.
 */
export interface FrontDoorSettings {
  host: string;
  port: number;
  adminHost: string;
  adminPort: number;
  /** The web replicas, host:port. */
  webAddrs: readonly string[];
  /** How often each replica's /readyz is checked. */
  probeIntervalMs: number;
  /** Undefined: no rate limits (RATE_LIMITS=off). */
  rateLimits: RateLimits | undefined;
  /** A graceful stop (SIGUSR1) lets requests finish this long, then cuts what is left. */
  stopTimeoutMs: number;
  /** The source address of connections to web replicas (a host with several; tests use it). */
  sourceAddress?: string;
}

/** Bodies beyond this are refused at the door already (the web tier's own limit is lower). */
export const FRONT_DOOR_MAX_BODY_BYTES = 64 * 1024;
/** Everything a slow client gets for sending its request line and headers. */
export const HEADERS_TIMEOUT_SECONDS = 10;
/** How long a client may wait after a 503 from the door itself. */
const RETRY_AFTER_SECONDS = 2;
const MAX_CONNECTIONS = 4096;

export function frontDoorSettings(config: FlockConfig): FrontDoorSettings {
  return {
    host: config.frontHost,
    port: config.frontPort,
    adminHost: config.adminHost,
    adminPort: config.adminPort,
    webAddrs: config.webAddrs,
    probeIntervalMs: config.probeIntervalMs,
    rateLimits: config.rateLimits,
    stopTimeoutMs: config.shutdownTimeoutMs,
  };
}

const errorBody = (code: string, message: string) => `'${JSON.stringify({ error: { code, message } })}'`;

/** HAProxy's own answers, in the API's error shape. */
const OWN_ERRORS: [number, string, string][] = [
  [400, "bad_request", "the request is malformed"],
  [403, "forbidden", "not allowed"],
  [404, "not_found", "no such endpoint"],
  [405, "method_not_allowed", "method not allowed"],
  [408, "request_timeout", "the request took too long to arrive"],
  [413, "payload_too_large", "request body is too large"],
  [429, "rate_limited", "too many requests, try again later"],
  [500, "internal", "internal error"],
  [501, "not_implemented", "not implemented"],
  [502, "bad_gateway", "a web replica failed to answer"],
  [503, "unavailable", "Flock is busy right now, please try again in a moment"],
  [504, "unavailable", "Flock took too long to answer, please try again in a moment"],
];

/** One line of JSON per request; the path without its query (tokens may travel there). */
const LOG_FORMAT =
  `'{"name":"front-door","time":"%tr","client":"%ci","method":"%HM","path":"%{+E}HPO",` +
  `"status":%ST,"ms":%Ta,"bytes":%B,"server":"%b/%s","retries":%rc,"term":"%tsc",` +
  `"requestId":"%[var(txn.rid)]"}'`;

export function haproxyConfig(s: FrontDoorSettings): string {
  if (s.webAddrs.length === 0) throw new Error("the front door needs at least one web replica (WEB_ADDRS)");
  const probeMs = Math.max(100, s.probeIntervalMs);
  const source = s.sourceAddress ? ` source ${s.sourceAddress}` : "";
  const servers = (check: string) =>
    s.webAddrs.map((address, i) => `    server web-${i + 1} ${address}${check}${source}`);
  const lines = [
    "# Written by Flock's launcher (src/frontdoor/haproxy-config.ts) from its settings;",
    "# change the settings (README, Configuration), not this file.",
    "global",
    "    log stdout format raw local0 info",
    `    maxconn ${MAX_CONNECTIONS}`,
    `    hard-stop-after ${Math.max(1000, s.stopTimeoutMs)}ms`,
    "",
    "defaults",
    "    mode http",
    "    log global",
    `    log-format ${LOG_FORMAT}`,
    "    option dontlognull",
    "    option http-keep-alive",
    // Live streams (Server-Sent Events) are small writes that must leave at once: without this
    // HAProxy holds each for more data, about 200 ms (measured by the bench's streaming workload).
    "    option http-no-delay",
    // A client that leaves (a live stream closed, a request given up) ends the request on the
    // replica at once; without it the replica learned only at the next write that failed, or
    // the 30 s client timeout, and held the stream, its descriptor and its subscription so long.
    "    option abortonclose",
    "    timeout connect 2s",
    "    timeout client 30s",
    "    timeout server 30s",
    `    timeout http-request ${HEADERS_TIMEOUT_SECONDS}s`,
    "    timeout http-keep-alive 10s",
    "    timeout queue 5s",
    "    timeout client-fin 5s",
    "    timeout server-fin 5s",
    // An upgraded connection (WebSocket) is a tunnel: it stays open while either side talks.
    "    timeout tunnel 1h",
    `    timeout check ${Math.min(1000, probeMs)}ms`,
    ...OWN_ERRORS.map(
      ([status, code, message]) =>
        `    http-error status ${status} content-type application/json string ${errorBody(code, message)}` +
        (status === 503 ? ` hdr retry-after ${RETRY_AFTER_SECONDS}` : ""),
    ),
    "",
    "frontend public",
    `    bind ${s.host}:${s.port}`,
    `    maxconn ${MAX_CONNECTIONS - 96}`,
    ...(s.rateLimits
      ? [
          "    tcp-request connection track-sc2 src,ipmask(32,64) table st_connections",
          `    tcp-request connection reject if { sc2_conn_cur gt ${s.rateLimits.connectionsPerAddress} }`,
        ]
      : []),
    "    unique-id-format %[uuid()]",
    "    http-request set-var(txn.rid) req.hdr(x-request-id) if { req.hdr_cnt(x-request-id) eq 1 } { req.hdr(x-request-id) -m reg ^[A-Za-z0-9-]{8,64}$ }",
    "    http-request set-var(txn.rid) unique-id unless { var(txn.rid) -m found }",
    "    http-request set-header x-request-id %[var(txn.rid)]",
    `    http-request deny deny_status 413 content-type application/json string ${errorBody("payload_too_large", "request body is too large")} if { req.hdr_val(content-length) gt ${FRONT_DOOR_MAX_BODY_BYTES} }`,
    // Flock is no forward proxy (and a web replica would drop the connection: a 502).
    `    http-request return status 405 content-type application/json string ${errorBody("method_not_allowed", "method not allowed")} if METH_CONNECT`,
    // Operations are for the admin listener. Paths are matched decoded, as the web tier routes them.
    "    acl ops path,url_dec -m str /metrics /readyz /healthz /cluster /cluster.json",
    `    http-request return status 404 content-type application/json string ${errorBody("not_found", "no such endpoint")} if ops`,
    ...(s.rateLimits ? rateLimitRules(s.rateLimits) : []),
    "    option forwardfor",
    "    use_backend web_any if { nbsrv(web) eq 0 }",
    "    default_backend web",
    "",
    "backend web",
    "    balance roundrobin",
    "    option httpchk",
    "    http-check send meth GET uri /readyz ver HTTP/1.1 hdr host flock-front-door",
    "    http-check expect status 200",
    // A failed connection is retried once more on another replica; a sent request never.
    "    retry-on conn-failure",
    "    retries 2",
    "    option redispatch 1",
    `    default-server inter ${probeMs}ms fall 1 rise 1 observe layer4 error-limit 1 on-error mark-down`,
    ...servers(" check"),
    "",
    "# When no replica is ready, any may still serve what needs no backend (or say 503 itself).",
    "backend web_any",
    "    balance roundrobin",
    "    retry-on conn-failure",
    "    retries 2",
    "    option redispatch 1",
    ...servers(""),
    "",
    "frontend admin",
    `    bind ${s.adminHost}:${s.adminPort}`,
    "    maxconn 64",
    "    http-request use-service prometheus-exporter if { path /metrics }",
    `    http-request return status 200 content-type application/json string '{"ready":true}' if { path /readyz } { nbsrv(web) gt 0 }`,
    `    http-request return status 503 content-type application/json string '{"ready":false}' if { path /readyz }`,
    "    stats enable",
    "    stats uri /stats",
    "    stats refresh 5s",
    `    http-request return status 404 content-type application/json string ${errorBody("not_found", "no such endpoint")} unless { path /cluster /cluster.json } || { path_beg /static/ } || { path_beg /stats }`,
    "    option forwardfor",
    "    use_backend web_any",
    "",
  ];
  if (s.rateLimits) lines.push(...stickTables(s.rateLimits));
  return lines.join("\n");
}

/** The limited actions: what each counts, in which table, and the period it counts over. */
function limitedActions(limits: RateLimits) {
  return [
    { name: "signups", limit: limits.signups, when: ["m_post p_signup"] },
    { name: "logins", limit: limits.logins, when: ["m_post p_login"] },
    { name: "posts", limit: limits.posts, when: ["m_post p_post"] },
    { name: "follows", limit: limits.follows, when: ["m_put_delete p_follow_api", "m_post p_follow_page"] },
  ];
}

function rateLimitRules(limits: RateLimits): string[] {
  const overLimit = (retryAfter: number, condition: string) =>
    `    http-request set-var(txn.retry_after) int(${retryAfter}) if ${condition}`;
  return [
    "    acl api path_beg /api/",
    "    acl m_post method POST",
    "    acl m_put_delete method PUT DELETE",
    "    acl p_signup path /api/v1/accounts /signup",
    "    acl p_login path /api/v1/sessions /login",
    "    acl p_post path /api/v1/posts /posts",
    "    acl p_follow_api path_beg /api/v1/following/",
    "    acl p_follow_page path_reg ^/u/[^/]+/(un)?follow$",
    // Each request is at most one limited action: sticky counter 0 counts it per address.
    ...limitedActions(limits).flatMap(({ name, when }) =>
      when.map(
        (condition) => `    http-request track-sc0 src,ipmask(32,64) table st_${name} if ${condition}`,
      ),
    ),
    ...limitedActions(limits).flatMap(({ name, limit, when }) =>
      when.map((condition) =>
        overLimit(limit.periodSeconds, `${condition} { sc0_http_req_rate(st_${name}) gt ${limit.count} }`),
      ),
    ),
    // Sticky counter 1: every request carrying a session (bearer token or cookie), per token.
    "    http-request set-var(txn.token) req.hdr(authorization) if { req.hdr(authorization) -m found }",
    "    http-request set-var(txn.token) req.cook(flock_session) if !{ var(txn.token) -m found } { req.cook(flock_session) -m found }",
    "    http-request track-sc1 var(txn.token),sha2(256) table st_tokens if { var(txn.token) -m found } !{ path_beg /static/ }",
    overLimit(limits.perToken.periodSeconds, `{ sc1_http_req_rate(st_tokens) gt ${limits.perToken.count} }`),
    `    http-request return status 429 content-type application/json string ${errorBody("rate_limited", "too many requests, try again later")} hdr retry-after %[var(txn.retry_after)] if api { var(txn.retry_after) -m found }`,
    `    http-request return status 429 content-type "text/html; charset=utf-8" string '${SLOW_DOWN_PAGE}' hdr retry-after %[var(txn.retry_after)] if { var(txn.retry_after) -m found }`,
  ];
}

const SLOW_DOWN_PAGE =
  "<!doctype html><html lang=en><meta charset=utf-8><title>Slow down · Flock</title>" +
  "<h1>Slow down</h1><p>Too many requests from here. Please try again later.</p></html>";

function stickTables(limits: RateLimits): string[] {
  const table = (name: string, type: string, limit: RateLimit) => [
    `backend st_${name}`,
    `    stick-table type ${type} size 200k expire ${limit.periodSeconds}s store http_req_rate(${limit.periodSeconds}s)`,
    "",
  ];
  return [
    "# Rate limit counters (HAProxy's stick tables, in this process's memory).",
    "backend st_connections",
    "    stick-table type ipv6 size 200k expire 60s store conn_cur",
    "",
    ...limitedActions(limits).flatMap(({ name, limit }) => table(name, "ipv6", limit)),
    ...table("tokens", "binary len 32", limits.perToken),
  ];
}
