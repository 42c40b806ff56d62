import type { Logger } from "pino";
import type { BackendClients } from "../grpc/client.js";

/** What every web handler gets: the backend clients and settings. Nothing about users. */
export interface WebContext {
  backend: BackendClients;
  log: Logger;
  /** Mark the session cookie Secure (when served over TLS). */
  cookieSecure: boolean;
}
