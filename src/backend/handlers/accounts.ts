import type { Logger } from "pino";
import {
  TokenKind,
  type AccountsServiceServer,
  type App as AppMessage,
  type GetAccountResponse,
} from "../../gen/flock/accounts/v1/accounts.js";
import { bearerToken } from "../../grpc/metadata.js";
import type { OAuthService } from "../../services/accounts/oauth.js";
import type { AccountsService } from "../../services/accounts/service.js";
import type { Account, App } from "../../services/accounts/view.js";
import { unary } from "./unary.js";

const KIND = {
  session: TokenKind.TOKEN_KIND_SESSION,
  oauth: TokenKind.TOKEN_KIND_OAUTH,
  app: TokenKind.TOKEN_KIND_APP,
} as const;

/** The accounts service's gRPC face (OAuth included): decode, call the logic, encode. */
export function accountsGrpcHandlers(
  service: AccountsService,
  oauth: OAuthService,
  log: Logger,
): AccountsServiceServer {
  return {
    createAccount: unary(log, "CreateAccount", async (req) => ({
      username: await service.createAccount(req.username, req.password),
    })),
    login: unary(log, "Login", async (req) => service.login(req.username, req.password, req.clientAddress)),
    logout: unary(log, "Logout", async (_req, call) => ({
      username: await service.logout(bearerToken(call.metadata)),
    })),
    authenticate: unary(log, "Authenticate", async (_req, call) => {
      const identity = await service.identify(bearerToken(call.metadata));
      return {
        username: identity.username,
        kind: KIND[identity.kind],
        scopes: [...identity.scopes],
        clientId: identity.clientId,
      };
    }),
    getAccount: unary(log, "GetAccount", async (req) =>
      accountMessage(await service.getAccount(req.username)),
    ),
    searchAccounts: unary(log, "SearchAccounts", async (req) => ({
      usernames: await service.search(req.prefix, req.limit),
    })),
    updateProfile: unary(log, "UpdateProfile", async (req, call) =>
      accountMessage(await service.updateProfile(bearerToken(call.metadata), req.displayName, req.bio)),
    ),
    createApp: unary(log, "CreateApp", async (req) => {
      const created = await oauth.createApp(req.name, req.website, req.redirectUris, req.scopes);
      return { app: appMessage(created.app), clientSecret: created.clientSecret };
    }),
    getApp: unary(log, "GetApp", async (req) => appMessage(await oauth.getApp(req.clientId))),
    deleteApp: unary(log, "DeleteApp", async (req) => {
      await oauth.deleteApp(req.clientId, req.clientSecret);
      return {};
    }),
    authorize: unary(log, "Authorize", async (req, call) => ({
      code: await oauth.authorize(
        bearerToken(call.metadata),
        req.clientId,
        req.redirectUri,
        req.scopes,
        req.codeChallenge,
      ),
    })),
    exchangeCode: unary(log, "ExchangeCode", async (req) =>
      tokenMessage(
        await oauth.exchangeCode(req.clientId, req.clientSecret, req.code, req.redirectUri, req.codeVerifier),
      ),
    ),
    issueAppToken: unary(log, "IssueAppToken", async (req) =>
      tokenMessage(await oauth.issueAppToken(req.clientId, req.clientSecret, req.scopes)),
    ),
    revokeToken: unary(log, "RevokeToken", async (req) => {
      await oauth.revokeToken(req.clientId, req.clientSecret, req.token);
      return {};
    }),
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

function appMessage(app: App): AppMessage {
  return {
    clientId: app.clientId,
    name: app.name,
    website: app.website,
    redirectUris: [...app.redirectUris],
    scopes: [...app.scopes],
    createdAtMs: app.createdAtMs,
    id: String(app.revision),
  };
}

function tokenMessage(token: { accessToken: string; scopes: readonly string[]; createdAtMs: number }) {
  return { accessToken: token.accessToken, scopes: [...token.scopes], createdAtMs: token.createdAtMs };
}
