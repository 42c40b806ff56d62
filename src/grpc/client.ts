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
import { PostsServiceClient } from "../gen/flock/posts/v1/posts.js";
import { FlockError } from "../shared/errors.js";
import { AUTHORIZATION, REQUEST_ID } from "./handler.js";

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

/**
 * Client-side load balancing: round robin over every backend address, skipping ones
 * that are down. A call refused with UNAVAILABLE (backend gone, or its store without
 * quorum) is retried on another backend; every Flock write is idempotent, so a retry
 * never doubles anything.
 */
const SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [
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
  private readonly channel: Channel;

  constructor(
    addresses: readonly string[],
    private readonly timeoutMs: number,
  ) {
    this.channel = new Channel(backendTarget(addresses), credentials.createInsecure(), {
      "grpc.service_config": SERVICE_CONFIG,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
    });
    const options = { channelOverride: this.channel };
    this.accounts = new AccountsServiceClient("unused", credentials.createInsecure(), options);
    this.graph = new GraphServiceClient("unused", credentials.createInsecure(), options);
    this.posts = new PostsServiceClient("unused", credentials.createInsecure(), options);
  }

  /**
   * Calls one unary method with a deadline. Failures reject with a FlockError that keeps
   * the gRPC status and message, so callers map one error type.
   */
  call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req, context: CallContext = {}): Promise<Res> {
    const metadata = new Metadata();
    if (context.token) metadata.set(AUTHORIZATION, `Bearer ${context.token}`);
    if (context.requestId) metadata.set(REQUEST_ID, context.requestId);
    const deadline = Date.now() + this.timeoutMs;
    return new Promise((resolve, reject) => {
      method.call(client, request, metadata, { deadline }, (error, response) => {
        if (error) reject(toFlockError(error));
        else resolve(response);
      });
    });
  }

  close(): void {
    this.accounts.close();
    this.graph.close();
    this.posts.close();
    this.channel.close();
  }
}

function toFlockError(error: ServiceError): FlockError {
  const retryAfter = Number(error.metadata?.get("retry-after")[0]);
  return new FlockError(error.code, error.details || error.message, Number.isFinite(retryAfter) ? retryAfter : undefined);
}
