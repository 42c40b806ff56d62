import type { Logger } from "pino";
import type { AccountsServiceServer, GetAccountResponse } from "../../gen/flock/accounts/v1/accounts.js";
import { bearerToken } from "../../grpc/metadata.js";
import type { AccountsService } from "../../services/accounts/service.js";
import type { Account } from "../../services/accounts/view.js";
import { unary } from "./unary.js";

/** The accounts service's gRPC face: decode, call the logic, encode. */
export function accountsGrpcHandlers(service: AccountsService, log: Logger): AccountsServiceServer {
  return {
    createAccount: unary(log, "CreateAccount", async (req) => ({
      username: await service.createAccount(req.username, req.password),
    })),
    login: unary(log, "Login", async (req) => service.login(req.username, req.password, req.clientAddress)),
    logout: unary(log, "Logout", async (_req, call) => ({
      username: await service.logout(bearerToken(call.metadata)),
    })),
    authenticate: unary(log, "Authenticate", async (_req, call) => ({
      username: (await service.authenticate(bearerToken(call.metadata))).username,
    })),
    getAccount: unary(log, "GetAccount", async (req) =>
      accountMessage(await service.getAccount(req.username)),
    ),
    searchAccounts: unary(log, "SearchAccounts", async (req) => ({
      usernames: await service.search(req.prefix, req.limit),
    })),
    updateProfile: unary(log, "UpdateProfile", async (req, call) =>
      accountMessage(await service.updateProfile(bearerToken(call.metadata), req.displayName, req.bio)),
    ),
  };
}

function accountMessage(account: Account): GetAccountResponse {
  return {
    username: account.username,
    createdAtMs: account.createdAtMs,
    displayName: account.displayName,
    bio: account.bio,
    id: String(account.revision),
  };
}
