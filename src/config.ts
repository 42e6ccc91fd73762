import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { TOKEN_CHARACTERS } from './clients/tokens.js'

const LogLevel = Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  databaseUrl: Type.Optional(Type.String({ minLength: 1 })),
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
  corsOrigin: Type.Optional(Type.String({ minLength: 1 })),
  databasePoolSize: Type.Integer({ minimum: 1, maximum: 200 })
})

export type Config = Readonly<Static<typeof ConfigSchema>>

const ENV_NAMES: Record<keyof Config, string> = {
  port: 'PORT',
  host: 'HOST',
  databaseUrl: 'DATABASE_URL',
  databaseSchema: 'DATABASE_SCHEMA',
  dataDir: 'DATA_DIR',
  bootstrapAdminToken: 'BOOTSTRAP_ADMIN_TOKEN',
  logLevel: 'LOG_LEVEL',
  authFailureLimit: 'AUTH_FAILURE_LIMIT',
  authFailureWindowMs: 'AUTH_FAILURE_WINDOW_MS',
  idempotencyTtlHours: 'IDEMPOTENCY_TTL_HOURS',
  corsOrigin: 'CORS_ORIGIN',
  databasePoolSize: 'DATABASE_POOL_SIZE'
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
    databaseSchema: optional(env, 'DATABASE_SCHEMA') ?? 'public',
    dataDir: optional(env, 'DATA_DIR') ?? './data',
    bootstrapAdminToken: optional(env, 'BOOTSTRAP_ADMIN_TOKEN'),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
    authFailureLimit: integer(env, 'AUTH_FAILURE_LIMIT', 30),
    authFailureWindowMs: integer(env, 'AUTH_FAILURE_WINDOW_MS', 60_000),
    idempotencyTtlHours: integer(env, 'IDEMPOTENCY_TTL_HOURS', 48),
    corsOrigin: optional(env, 'CORS_ORIGIN'),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10),
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
  return Object.freeze(candidate as Config)
}
