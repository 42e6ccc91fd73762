import type { Server } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'

/**
 * Node checks the header and request deadlines on a timer of its own (30 s by default), so a
 * deadline could be overrun by that much; once a second keeps the bound close to what is set, and
 * a pass over a few thousand connections costs next to nothing.
 */
const DEADLINE_CHECK_MS = 1_000
/** A refused connection is logged at most this often: under a flood, one line says enough. */
const DROP_LOG_INTERVAL_MS = 60_000

/**
 * The Fastify server options that bound how long a client may hold a connection (Fastify leaves
 * request and connection timeouts at 0, unbounded). Headers share the request's deadline: Node
 * requires it to be no longer, and a client slow to send headers is as slow as one slow with a body.
 */
export function connectionTimeouts(config: Config) {
  return {
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: DEADLINE_CHECK_MS
    }
  } as const
}

/**
 * Caps the connections the process holds at `maxConnections`: past it Node closes a new one at
 * once, unanswered (nothing can be answered without reading a request). The timeouts above bound
 * how long each may be held; the cap bounds how many, so sockets and memory never run out first.
 */
export function capConnections(server: Server, maxConnections: number, log: FastifyBaseLogger): void {
  server.maxConnections = maxConnections
  let loggedAt = Number.NEGATIVE_INFINITY
  server.on('drop', () => {
    const now = Date.now()
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return
    loggedAt = now
    log.warn({ maxConnections }, 'connection refused: MAX_CONNECTIONS connections are open')
  })
}
