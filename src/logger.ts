/**
 * Structured JSON logs (pino). Secrets are redacted by path as a second line of defence: code never
 * logs a config object or an Authorization header on purpose, and a test greps captured logs for secrets.
 */
import { pino, type Logger, type DestinationStream } from 'pino'

/** Field names that hold secrets wherever they appear (one and two levels deep, and in request headers). */
const SECRET_KEYS = [
  'access_token',
  'app_secret',
  'verify_token',
  'auth_token',
  'hmac_secret',
  'secret',
  'token',
  'password',
  'authorization',
  'config',
]

export const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-turn-hook-signature"]',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'switchboard' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return destination ? pino(options, destination) : pino(options)
}

export type { Logger }
