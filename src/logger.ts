import type { FastifyRequest } from 'fastify'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { Config } from './config.js'

/**
 * Secrets and personal data never reach the log: the authorization header is censored, and
 * requests are logged by route pattern (`/v1/members/:memberId/consents`), never by raw URL,
 * which would carry member ids.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.authorization',
  'token',
  '*.token',
  'memberId',
  '*.memberId',
  'body',
  '*.body'
]

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (request: FastifyRequest) => ({ method: request.method, route: request.routeOptions?.url ?? 'unmatched', id: request.id }),
      err: safeError
    }
  }
  if (destination) return pino(options, destination)
  // A person at a terminal reads text; log collectors read JSON lines.
  if (process.stdout.isTTY) return pino({ ...options, transport: { target: 'pino-pretty' } })
  return pino(options)
}

/** Database errors carry the offending values in `detail`; keep only what diagnoses the fault. */
function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) }
  const { code } = err as { code?: unknown }
  return {
    type: err.constructor.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    stack: err.stack,
    ...(err.cause instanceof Error ? { cause: safeError(err.cause) } : {})
  }
}
