import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { AccountsServiceService } from "../gen/flock/accounts/v1/accounts.js";
import { NotificationsServiceService, PostsServiceService } from "../gen/flock/posts/v1/posts.js";
import { BackendClients } from "./client.js";
import { FlockError } from "../shared/errors.js";

/** Calls whose first copy may be applied before the backend fails, and whose retry would answer differently. */
const NOT_RESENT = [
  { service: AccountsServiceService, method: "logout", why: "the session is gone: 'not logged in'" },
  { service: AccountsServiceService, method: "exchangeCode", why: "the code was used: invalid_grant" },
  { service: AccountsServiceService, method: "deleteApp", why: "the app is gone: invalid_client" },
  { service: PostsServiceService, method: "deletePost", why: "the post is gone: 404" },
  { service: NotificationsServiceService, method: "dismiss", why: "the notification is gone: 404" },
] as const;

/**
 * Two backends over one store, where the first call applies and then fails UNAVAILABLE (a
 * backend killed, or its view behind, after the commit); any later copy answers NOT_FOUND.
 */
describe("BackendClients retries", () => {
  const servers: Server[] = [];
  const addresses: string[] = [];
  const sent = new Map<string, number>();

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const server = new Server();
      for (const service of new Set(NOT_RESENT.map((c) => c.service))) {
        const handlers: UntypedServiceImplementation = {};
        for (const { method } of NOT_RESENT.filter((c) => c.service === service)) {
          handlers[method] = (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
            const count = (sent.get(method) ?? 0) + 1;
            sent.set(method, count);
            callback(
              count === 1
                ? { code: status.UNAVAILABLE, details: "the store is unavailable, try again" }
                : { code: status.NOT_FOUND, details: "gone" },
            );
          };
        }
        server.addService(service, handlers);
      }
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        ),
      );
      servers.push(server);
      addresses.push(`127.0.0.1:${port}`);
    }
  });
  after(() => {
    for (const server of servers) server.forceShutdown();
  });

  for (const { method, why } of NOT_RESENT) {
    it(`does not re-send ${method}: a retry would find ${why}`, async () => {
      const backend = new BackendClients(addresses, 2_000);
      try {
        const client = [backend.accounts, backend.posts, backend.notifications].find(
          (c) => typeof (c as unknown as Record<string, unknown>)[method] === "function",
        )!;
        const call = (client as unknown as Record<string, Parameters<typeof backend.call>[1]>)[method]!;
        await assert.rejects(
          backend.call(client, call, {}, { token: "t" }),
          (err: unknown) => err instanceof FlockError && err.code === status.UNAVAILABLE,
        );
        assert.equal(sent.get(method), 1, `${method} was sent once`);
      } finally {
        backend.close();
      }
    });
  }
});
