import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { DomainError, NotFoundError } from '../errors.js'
import { CHANNELS, PURPOSES, ROLES } from '../policy/vocabulary.js'
import { AUTHENTICATED_PROBLEMS, Channel, Purpose, StringEnum, Text, Timestamp, problems } from '../schemas.js'
import { findClient, insertClient, listClients, revokeClient } from './repository.js'
import { CLIENTS_CHANNEL } from './token-cache.js'
import { generateToken, hashToken } from './tokens.js'

const ClientSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(ROLES),
  channels: Type.Union([Type.Array(Channel), Type.Null()]),
  purposes: Type.Union([Type.Array(Purpose), Type.Null()]),
  rateLimit: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Requests per minute; null: not throttled' }),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()])
})

const admins = { roles: ['admin'] as const }
const tags = ['Clients']

/** On an admin or ops client, channels and purposes would be stored and never applied. */
class ScopeOnlyForSystemError extends DomainError {
  constructor(fields: readonly string[]) {
    super('validation_failed', 400, 'Bad Request', 'channels and purposes limit system clients only', {
      errors: fields.map((field) => ({ path: `body/${field}`, message: 'is only for a system client' }))
    })
  }
}

const clientRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/v1/clients',
    {
      config: { access: admins },
      schema: {
        operationId: 'createClient',
        summary: 'Register a calling system or person; the token is shown this once',
        description:
          'channels and purposes limit a system client (omitted: all of them, except statutory_exception, which it may ' +
          'use only when channels name it); on an admin or ops client they are a 400. Clients are not throttled unless ' +
          'rateLimit is set: then requests beyond it within a minute are 429 with Retry-After.',
        tags,
        body: Type.Object(
          {
            name: Text(200),
            role: StringEnum(ROLES),
            channels: Type.Optional(Type.Array(Channel, { minItems: 1, maxItems: CHANNELS.length, uniqueItems: true })),
            purposes: Type.Optional(Type.Array(Purpose, { minItems: 1, maxItems: PURPOSES.length, uniqueItems: true })),
            rateLimit: Type.Optional(
              Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests per minute, for a system that must be held back; omitted: not throttled' })
            )
          },
          { additionalProperties: false }
        ),
        response: { 201: Type.Object({ ...ClientSchema.properties, token: Type.String() }), ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async (request, reply) => {
      const scopeFields = (['channels', 'purposes'] as const).filter((field) => request.body[field] !== undefined)
      if (request.body.role !== 'system' && scopeFields.length > 0) throw new ScopeOnlyForSystemError(scopeFields)
      const token = generateToken()
      const client = await insertClient(fastify.database.db, {
        id: randomUUID(),
        name: request.body.name,
        role: request.body.role,
        channels: request.body.channels ?? null,
        purposes: request.body.purposes ?? null,
        rateLimit: request.body.rateLimit ?? null,
        tokenHash: hashToken(token),
        now: fastify.now()
      })
      return reply.code(201).header('cache-control', 'no-store').send({ ...client, token })
    }
  )

  fastify.get(
    '/v1/clients',
    {
      config: { access: admins },
      schema: {
        operationId: 'listClients',
        summary: 'List clients (never their tokens)',
        tags,
        response: { 200: Type.Object({ clients: Type.Array(ClientSchema) }), ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async () => ({ clients: await listClients(fastify.database.db) })
  )

  fastify.delete(
    '/v1/clients/:id',
    {
      config: { access: admins },
      schema: {
        operationId: 'revokeClient',
        summary: "Revoke a client's token; the very next request with it is refused",
        tags,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }),
        response: { 200: ClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
      }
    },
    async (request) => {
      const revoked = await fastify.changes.publish(
        fastify.database,
        CLIENTS_CHANNEL,
        (tx) => revokeClient(tx, request.params.id, fastify.now()),
        (client) => client?.id
      )
      if (revoked) return revoked
      const existing = await findClient(fastify.database.db, request.params.id)
      if (!existing) throw new NotFoundError('client')
      return existing
    }
  )
}

export default clientRoutes
