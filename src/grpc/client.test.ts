import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { AccountsServiceService, type LogoutResponse } from "../gen/flock/accounts/v1/accounts.js";
import { BackendClients } from "./client.js";
import { FlockError } from "../shared/errors.js";

/**
 * Two backends over one session store, where the first logout deletes the session and then
 * fails UNAVAILABLE (a backend killed, or its view behind, after the delete was committed).
 */
describe("BackendClients retries", () => {
  const servers: Server[] = [];
  const addresses: string[] = [];
  let live = true;
  let logouts = 0;

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const server = new Server();
      server.addService(AccountsServiceService, {
        logout: (
          _call: ServerUnaryCall<unknown, LogoutResponse>,
          callback: sendUnaryData<LogoutResponse>,
        ) => {
          logouts++;
          if (live) {
            live = false;
            callback({ code: status.UNAVAILABLE, details: "the store is unavailable, try again" });
          } else {
            callback(null, { username: "" });
          }
        },
      });
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

  it("does not re-send a logout: a retry would find the session gone and answer 'not logged in'", async () => {
    const backend = new BackendClients(addresses, 2_000);
    try {
      await assert.rejects(
        backend.call(backend.accounts, backend.accounts.logout, {}, { token: "t" }),
        (err: unknown) => err instanceof FlockError && err.code === status.UNAVAILABLE,
      );
      assert.equal(logouts, 1, "the logout was sent once");
    } finally {
      backend.close();
    }
  });
});
