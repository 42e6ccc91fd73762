import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { TOKEN_CHARACTERS } from './clients/tokens.js'
import { DEFAULT_DATABASE_TIMEOUTS } from './db/dialect.js'

const LogLevel = Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  databaseUrl: Type.Optional(Type.String({ minLength: 1 })),
  /** A streaming standby for reads that decide nothing (ledger queries, records, export, verify). */
  databaseReadUrl: Type.Optional(Type.String({ minLength: 1 })),
  /** The owner role, for migrations only; with it the service itself runs as the role of databaseUrl. */
  databaseMigrationUrl: Type.Optional(Type.String({ minLength: 1 })),
  /** Postgres schema to work in; lets tests and tenants share one database. */
  databaseSchema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
  dataDir: Type.String({ minLength: 1 }),
  /** Bearer-token characters only (RFC 6750), or no client could ever present it. */
  bootstrapAdminToken: Type.Optional(Type.String({ minLength: 16, maxLength: 512, pattern: `^[${TOKEN_CHARACTERS}]+$` })),
  logLevel: LogLevel,
  /** Failed authentications one source address may have per window before it gets 429. */
  authFailureLimit: Type.Integer({ minimum: 1 }),
  authFailureWindowMs: Type.Integer({ minimum: 1000 }),
  idempotencyTtlHours: Type.Integer({ minimum: 24 }),
  /**
   * How long a process may answer a token from its cache without asking the database; 0: never
   * cached. The change feed drops a changed client at once; this bounds a change nobody announced.
   */
  tokenCacheTtlMs: Type.Integer({ minimum: 0, maximum: 300_000 }),
  corsOrigin: Type.Optional(Type.String({ minLength: 1 })),
  databasePoolSize: Type.Integer({ minimum: 1, maximum: 200 }),
  /** PostgreSQL bounds in ms (see DatabaseTimeouts in src/db/dialect.ts): a wait becomes a 503, never a hang. */
  databaseStatementTimeoutMs: Type.Integer({ minimum: 100 }),
  databaseLockTimeoutMs: Type.Integer({ minimum: 100 }),
  databaseIdleInTransactionTimeoutMs: Type.Integer({ minimum: 100 }),
  databaseConnectTimeoutMs: Type.Integer({ minimum: 100 }),
  /** No answer at all from PostgreSQL within this long: the query fails and its connection is closed. */
  databaseQueryTimeoutMs: Type.Integer({ minimum: 100 }),
  /** SIGTERM: how long draining and closing may take before the process gives up and exits 1. */
  shutdownTimeoutMs: Type.Integer({ minimum: 1000 }),
  /**
   * The whole request (headers and body) must arrive within this long, or the connection gets a
   * 408 and is closed: a client sending a byte now and then cannot hold a socket. Long enough for a
   * batch of 1000 over a slow link; the handler's own time does not count.
   */
  requestTimeoutMs: Type.Integer({ minimum: 1000 }),
  /**
   * A connection with no traffic either way for this long is closed, even while its handler works:
   * keep it well above the slowest answer (a batch, a plan), which the database bounds take seconds.
   */
  connectionTimeoutMs: Type.Integer({ minimum: 1000 }),
  /** An idle kept-alive connection between requests; longer than a load balancer's idle timeout (often 60 s). */
  keepAliveTimeoutMs: Type.Integer({ minimum: 1000 }),
  /** Connections one process holds at once; past it, a new connection is closed unanswered. */
  maxConnections: Type.Integer({ minimum: 1 }),
  /** Requests are refused (503) while the event loop lags more than this on average; 0: never. */
  maxEventLoopDelayMs: Type.Integer({ minimum: 0 }),
  /** Entries that may wait for the ledger's group commit; past that, acts are refused (503 ledger_busy). */
  ledgerMaxQueuedEntries: Type.Integer({ minimum: 1 }),
  /** Checkpoints: the signing key (PKCS#8 PEM or base64 seed) or a file holding it; see src/ledger/checkpoints-key.ts. */
  checkpointSigningKey: Type.Optional(Type.String({ minLength: 1 })),
  checkpointSigningKeyFile: Type.Optional(Type.String({ minLength: 1 })),
  /** The checkpoints' origin line and key name: no spaces, no plus (c2sp.org/signed-note). */
  checkpointOrigin: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s+]+$' }),
  /** A checkpoint once this many entries are not covered by one; 0: never for that reason. */
  checkpointEveryEntries: Type.Integer({ minimum: 0 }),
  /** A checkpoint once the latest is this old and entries were appended since; 0: never for that reason. */
  checkpointIntervalSeconds: Type.Integer({ minimum: 0 })
})

export type Config = Readonly<Static<typeof ConfigSchema>>

const ENV_NAMES: Record<keyof Config, string> = {
  port: 'PORT',
  host: 'HOST',
  databaseUrl: 'DATABASE_URL',
  databaseReadUrl: 'DATABASE_READ_URL',
  databaseMigrationUrl: 'DATABASE_MIGRATION_URL',
  databaseSchema: 'DATABASE_SCHEMA',
  dataDir: 'DATA_DIR',
  bootstrapAdminToken: 'BOOTSTRAP_ADMIN_TOKEN',
  logLevel: 'LOG_LEVEL',
  authFailureLimit: 'AUTH_FAILURE_LIMIT',
  authFailureWindowMs: 'AUTH_FAILURE_WINDOW_MS',
  idempotencyTtlHours: 'IDEMPOTENCY_TTL_HOURS',
  tokenCacheTtlMs: 'TOKEN_CACHE_TTL_MS',
  corsOrigin: 'CORS_ORIGIN',
  databasePoolSize: 'DATABASE_POOL_SIZE',
  databaseStatementTimeoutMs: 'DATABASE_STATEMENT_TIMEOUT_MS',
  databaseLockTimeoutMs: 'DATABASE_LOCK_TIMEOUT_MS',
  databaseIdleInTransactionTimeoutMs: 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
  databaseConnectTimeoutMs: 'DATABASE_CONNECT_TIMEOUT_MS',
  databaseQueryTimeoutMs: 'DATABASE_QUERY_TIMEOUT_MS',
  shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  connectionTimeoutMs: 'CONNECTION_TIMEOUT_MS',
  keepAliveTimeoutMs: 'KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'MAX_CONNECTIONS',
  maxEventLoopDelayMs: 'MAX_EVENT_LOOP_DELAY_MS',
  ledgerMaxQueuedEntries: 'LEDGER_MAX_QUEUED_ENTRIES',
  checkpointSigningKey: 'CHECKPOINT_SIGNING_KEY',
  checkpointSigningKeyFile: 'CHECKPOINT_SIGNING_KEY_FILE',
  checkpointOrigin: 'CHECKPOINT_ORIGIN',
  checkpointEveryEntries: 'CHECKPOINT_EVERY_ENTRIES',
  checkpointIntervalSeconds: 'CHECKPOINT_INTERVAL_SECONDS'
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

function integer(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${key} must be a whole number`)
  return Number(raw)
}

function optional(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const raw = env[key]
  return raw === undefined || raw === '' ? undefined : raw
}

/**
 * Reads the service's settings from the environment, validates them and freezes the result.
 * @throws ConfigError naming the offending variable (never its value, which may be a secret).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const candidate = {
    port: integer(env, 'PORT', 3000),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: optional(env, 'DATABASE_URL'),
    databaseReadUrl: optional(env, 'DATABASE_READ_URL'),
    databaseMigrationUrl: optional(env, 'DATABASE_MIGRATION_URL'),
    databaseSchema: optional(env, 'DATABASE_SCHEMA') ?? 'public',
    dataDir: optional(env, 'DATA_DIR') ?? './data',
    bootstrapAdminToken: optional(env, 'BOOTSTRAP_ADMIN_TOKEN'),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
    authFailureLimit: integer(env, 'AUTH_FAILURE_LIMIT', 30),
    authFailureWindowMs: integer(env, 'AUTH_FAILURE_WINDOW_MS', 60_000),
    idempotencyTtlHours: integer(env, 'IDEMPOTENCY_TTL_HOURS', 48),
    tokenCacheTtlMs: integer(env, 'TOKEN_CACHE_TTL_MS', 30_000),
    corsOrigin: optional(env, 'CORS_ORIGIN'),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.statementMs),
    databaseLockTimeoutMs: integer(env, 'DATABASE_LOCK_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.lockMs),
    databaseIdleInTransactionTimeoutMs: integer(env, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.idleInTransactionMs),
    databaseConnectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.connectMs),
    databaseQueryTimeoutMs: integer(env, 'DATABASE_QUERY_TIMEOUT_MS', DEFAULT_DATABASE_TIMEOUTS.queryMs),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000),
    connectionTimeoutMs: integer(env, 'CONNECTION_TIMEOUT_MS', 120_000),
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 72_000),
    maxConnections: integer(env, 'MAX_CONNECTIONS', 4_096),
    maxEventLoopDelayMs: integer(env, 'MAX_EVENT_LOOP_DELAY_MS', 1_000),
    ledgerMaxQueuedEntries: integer(env, 'LEDGER_MAX_QUEUED_ENTRIES', 20_000),
    checkpointSigningKey: optional(env, 'CHECKPOINT_SIGNING_KEY'),
    checkpointSigningKeyFile: optional(env, 'CHECKPOINT_SIGNING_KEY_FILE'),
    checkpointOrigin: optional(env, 'CHECKPOINT_ORIGIN') ?? 'shizenha.example/audit-ledger',
    checkpointEveryEntries: integer(env, 'CHECKPOINT_EVERY_ENTRIES', 10_000),
    checkpointIntervalSeconds: integer(env, 'CHECKPOINT_INTERVAL_SECONDS', 300),
    ...overrides
  }
  for (const key of Object.keys(candidate) as (keyof typeof candidate)[]) {
    if (candidate[key] === undefined) delete candidate[key]
  }
  const firstError = Value.Errors(ConfigSchema, candidate)[0]
  if (firstError !== undefined) {
    const field = firstError.instancePath.replace(/^\//, '')
    throw new ConfigError(`invalid configuration: ${ENV_NAMES[field as keyof Config] ?? field} ${firstError.message}`)
  }
  // Otherwise a server that is merely slow would lose connections this side instead of cancelling a statement.
  if (candidate.databaseQueryTimeoutMs <= candidate.databaseStatementTimeoutMs) {
    throw new ConfigError('invalid configuration: DATABASE_QUERY_TIMEOUT_MS must be longer than DATABASE_STATEMENT_TIMEOUT_MS')
  }
  return Object.freeze(candidate as Config)
}
