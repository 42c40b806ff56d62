import {
  Channel,
  credentials,
  Metadata,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { AccountsServiceClient } from "../gen/flock/accounts/v1/accounts.js";
import { GraphServiceClient } from "../gen/flock/graph/v1/graph.js";
import { NotificationsServiceClient, PostsServiceClient } from "../gen/flock/posts/v1/posts.js";
import type { GrpcDial } from "./tls.js";
import { FlockError } from "../shared/errors.js";
import { AUTHORIZATION, REQUEST_ID } from "./metadata.js";

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface CallContext {
  /** The caller's session token, sent as `authorization: Bearer …`. */
  token?: string;
  requestId?: string;
}

/** Reports each finished call: full method path, status code, seconds (GrpcClientMetrics in shared/metrics.ts). */
export type CallObserver = (path: string, code: number, seconds: number) => void;

/**
 * Client-side load balancing: round robin over every backend address, skipping ones
 * that are down. A call refused with UNAVAILABLE (backend gone, or its store without
 * quorum) is retried on another backend: a backend answers UNAVAILABLE to a write only when
 * the store certainly did not apply it (one whose outcome is open is DEADLINE_EXCEEDED, not
 * retried), and every Flock write is idempotent, so a retry never doubles anything. A few are
 * not re-sent because a retry would change the answer (SERVICE_CONFIG below).
 */
const SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [
    {
      // Not retried here (an exact method entry overrides the default below): calls whose first
      // copy may have been applied before the backend failed (killed after the commit: the web
      // sees UNAVAILABLE too), and whose second copy would then answer differently.
      // - A signup re-sent would hash the password with a new salt and find "its" name taken.
      // - A logout re-sent finds no session and answers "" — a 401 for a logout that took effect.
      // - A delete re-sent finds the post gone: a 404 for a delete that took effect (the long
      //   chaos run saw 8 of these, each when a backend was SIGKILLed mid-delete). Likewise
      //   dismissing a notification, deleting an app, and exchanging a code (used once).
      // CreatePost is retried safely because the web tier always sends an idempotency key; the
      // rest are idempotent and answer the state as it is.
      name: [
        { service: "flock.accounts.v1.AccountsService", method: "CreateAccount" },
        { service: "flock.accounts.v1.AccountsService", method: "Logout" },
        { service: "flock.accounts.v1.AccountsService", method: "ExchangeCode" },
        { service: "flock.accounts.v1.AccountsService", method: "DeleteApp" },
        { service: "flock.posts.v1.PostsService", method: "DeletePost" },
        { service: "flock.posts.v1.NotificationsService", method: "Dismiss" },
      ],
    },
    {
      name: [{}],
      retryPolicy: {
        maxAttempts: 4,
        initialBackoff: "0.05s",
        maxBackoff: "0.5s",
        backoffMultiplier: 2,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    },
  ],
});

/** gRPC target for a list of `host:port` backends, all reached through one channel. */
export function backendTarget(addresses: readonly string[]): string {
  if (addresses.length === 1) return `dns:${addresses[0]}`;
  return `ipv4:${addresses.join(",")}`;
}

/** Typed clients for the three backend services, sharing one load-balanced channel. */
export class BackendClients {
  readonly accounts: AccountsServiceClient;
  readonly graph: GraphServiceClient;
  readonly posts: PostsServiceClient;
  readonly notifications: NotificationsServiceClient;
  /** The same service on the live-streams channel: use it for Subscribe. */
  readonly streams: NotificationsServiceClient;
  private readonly channel: Channel;
  /** Live streams get a channel of their own: thousands of them never queue a unary call. */
  private readonly streamChannel: Channel;

  constructor(
    readonly addresses: readonly string[],
    private readonly timeoutMs: number,
    /** TLS and channel options (GRPC_TLS_*); plain text when omitted. */
    readonly dial: GrpcDial = { credentials: credentials.createInsecure(), options: {} },
    /** Told about every finished call (the process's metrics); none when omitted. */
    private readonly observe?: CallObserver,
  ) {
    const channelOptions = {
      ...dial.options,
      "grpc.service_config": SERVICE_CONFIG,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
    };
    this.channel = new Channel(backendTarget(addresses), dial.credentials, channelOptions);
    // A local subchannel pool: grpc-js would otherwise share the connections of equal channels.
    this.streamChannel = new Channel(backendTarget(addresses), dial.credentials, {
      ...channelOptions,
      "grpc.use_local_subchannel_pool": 1,
    });
    const options = { channelOverride: this.channel };
    this.accounts = new AccountsServiceClient("unused", credentials.createInsecure(), options);
    this.graph = new GraphServiceClient("unused", credentials.createInsecure(), options);
    this.posts = new PostsServiceClient("unused", credentials.createInsecure(), options);
    this.notifications = new NotificationsServiceClient("unused", credentials.createInsecure(), options);
    this.streams = new NotificationsServiceClient("unused", credentials.createInsecure(), {
      channelOverride: this.streamChannel,
    });
  }

  /**
   * Calls one unary method with a deadline. Failures reject with a FlockError that keeps
   * the gRPC status and message, so callers map one error type.
   */
  call<Req, Res>(
    client: Client,
    method: UnaryMethod<Req, Res>,
    request: Req,
    context: CallContext = {},
  ): Promise<Res> {
    const metadata = new Metadata();
    if (context.token) metadata.set(AUTHORIZATION, `Bearer ${context.token}`);
    if (context.requestId) metadata.set(REQUEST_ID, context.requestId);
    // While no backend is connected (one restarting, the other just closed) a call waits for
    // one, within its deadline, instead of failing at once.
    metadata.setOptions({ waitForReady: true });
    const deadline = Date.now() + this.timeoutMs;
    const started = performance.now();
    const observe = this.observe;
    return new Promise((resolve, reject) => {
      method.call(client, request, metadata, { deadline }, (error, response) => {
        observe?.(methodPath(method), error ? error.code : 0, (performance.now() - started) / 1000);
        if (error) reject(toFlockError(error));
        else resolve(response);
      });
    });
  }

  close(): void {
    this.accounts.close();
    this.graph.close();
    this.posts.close();
    this.notifications.close();
    this.streams.close();
    this.streamChannel.close();
    this.channel.close();
  }
}

/** grpc-js puts each method's definition (with its path) on the client's method function. */
function methodPath(method: unknown): string {
  const path = (method as { path?: unknown }).path;
  return typeof path === "string" ? path : "unknown";
}

function toFlockError(error: ServiceError): FlockError {
  const retryAfter = Number(error.metadata?.get("retry-after")[0]);
  return new FlockError(
    error.code,
    error.details || error.message,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}
