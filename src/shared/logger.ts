import { pino, type Logger } from "pino";

/** JSON logs on stdout; secrets are redacted wherever they might appear. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        "password",
        "*.password",
        "token",
        "*.token",
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
      ],
      censor: "[redacted]",
    },
  });
}
