import { randomUUID } from 'node:crypto'
import { findClient, insertClient, listClients, revokeClient, type Client } from '../../clients/repository.js'
import { clientEntityId, EntityNotProviderError } from '../../clients/entity.js'
import { CLIENTS_CHANNEL } from '../../clients/token-cache.js'
import { generateToken, hashToken } from '../../clients/tokens.js'
import { ChangeFeed } from '../../db/change-feed.js'
import type { Channel, Purpose, Role } from '../../policy/vocabulary.js'
import { cliLogger, withDatabase } from '../database-access.js'
import { scopeFieldsMisplaced } from '../../clients/scope-rule.js'
import { failure, usageError } from '../exit.js'
import { isInstant, TIMESTAMP_EXPECTED } from '../../plugins/validation.js'
import type { ServiceApi } from '../service-api.js'
import { printJson, table } from '../terminal.js'

export interface NewClient {
  readonly name: string
  readonly role: Role
  readonly channels?: Channel[] | undefined
  readonly purposes?: Purpose[] | undefined
  readonly rateLimit?: number | undefined
  /** RFC 3339 with an offset, in the future; undefined: the token does not expire. */
  readonly expiresAt?: string | undefined
  /** The provider the client belongs to; undefined: the federation. */
  readonly entityId?: string | undefined
}

/** As POST /v1/clients refuses it: a scope only limits system clients. */
function checkScope(client: NewClient): void {
  const misplaced = scopeFieldsMisplaced(client)
  if (misplaced.length > 0) throw usageError(`${misplaced.map((field) => `--${field}`).join(' and ')}: these limit system clients only`)
}

/** As POST /v1/clients refuses it: an expiry is a time with an offset, in the future. */
function expiryOf(client: NewClient): Date | null {
  if (client.expiresAt === undefined) return null
  if (!isInstant(client.expiresAt)) throw usageError(`--expires-at is ${TIMESTAMP_EXPECTED}`)
  const at = new Date(client.expiresAt)
  if (at.getTime() <= Date.now()) throw usageError('--expires-at must be in the future')
  return at
}

export async function createClientCommand(client: NewClient, output: { json: boolean }, service: ServiceApi | undefined): Promise<void> {
  checkScope(client)
  const expiresAt = expiryOf(client)
  const created: Client & { token: string } = service
    ? await service.json('POST', 'v1/clients', { body: client })
    : await withDatabase(async (database) => {
        const entityId = await clientEntityId(database.db, client.entityId).catch((err: unknown) => {
          throw err instanceof EntityNotProviderError ? usageError(`--entity: ${err.message}`) : err
        })
        const token = generateToken()
        const inserted = await insertClient(database.db, {
          id: randomUUID(),
          name: client.name,
          role: client.role,
          entityId,
          channels: client.channels ?? null,
          purposes: client.purposes ?? null,
          rateLimit: client.rateLimit ?? null,
          expiresAt,
          tokenHash: hashToken(token),
          now: new Date()
        })
        return { ...inserted, token }
      })
  if (output.json) return printJson(created)
  process.stdout.write(table(['id', 'name', 'role', 'token'], [[created.id, created.name, created.role, created.token]]))
  process.stderr.write('The token is shown this once: hand it to the system now; only its hash is kept.\n')
}

function scopeOf(client: Client): string {
  if (client.role !== 'system') return '-'
  return `${client.channels?.join(',') ?? 'all channels'} / ${client.purposes?.join(',') ?? 'all purposes'}`
}

export async function listClientsCommand(options: { json: boolean; active: boolean }, service: ServiceApi | undefined): Promise<void> {
  const all = service ? (await service.json<{ clients: Client[] }>('GET', 'v1/clients')).clients : await withDatabase((database) => listClients(database.db))
  const clients = options.active ? all.filter((c) => c.revokedAt === null) : all
  if (options.json) return printJson({ clients })
  process.stdout.write(
    table(
      ['id', 'role', 'name', 'scope', 'rate limit', 'created', 'revoked'],
      clients.map((c) => [c.id, c.role, c.name, scopeOf(c), c.rateLimit === null ? '-' : `${c.rateLimit}/min`, c.createdAt, c.revokedAt ?? '-'])
    )
  )
}

/**
 * Revokes at once. Directly on PostgreSQL the revocation is announced on the clients channel in
 * the same transaction, as DELETE /v1/clients/{id} does, so running replicas drop the token
 * from their caches.
 */
export async function revokeClientCommand(id: string, options: { json: boolean }, service: ServiceApi | undefined): Promise<void> {
  const client: Client = service
    ? await service.json('DELETE', `v1/clients/${encodeURIComponent(id)}`)
    : await withDatabase(async (database) => {
        const feed = await ChangeFeed.open(undefined, cliLogger())
        const revoked = await feed.publish(
          database,
          CLIENTS_CHANNEL,
          (tx) => revokeClient(tx, id, new Date()),
          (c) => c?.id
        )
        const client = revoked ?? (await findClient(database.db, id))
        if (!client) throw failure(`there is no client ${id}`)
        return client
      })
  if (options.json) return printJson(client)
  process.stdout.write(`revoked ${client.id} (${client.role}, ${client.name}) at ${client.revokedAt}\n`)
}
