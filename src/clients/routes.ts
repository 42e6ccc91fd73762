import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { NotFoundError } from '../errors.js'
import { CHANNELS, PURPOSES, ROLES } from '../policy/vocabulary.js'
import { AUTHENTICATED_PROBLEMS, Channel, Purpose, StringEnum, Text, Timestamp, problems } from '../schemas.js'
import { findClient, insertClient, listClients, revokeClient } from './repository.js'
import { generateToken, hashToken } from './tokens.js'

const ClientSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(ROLES),
  channels: Type.Union([Type.Array(Channel), Type.Null()]),
  purposes: Type.Union([Type.Array(Purpose), Type.Null()]),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()])
})

const admins = { roles: ['admin'] as const }
const tags = ['Clients']

const clientRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/v1/clients',
    {
      config: { access: admins },
      schema: {
        operationId: 'createClient',
        summary: 'Register a calling system or person; the token is shown this once',
        description: 'channels and purposes limit a system client; omitted, it may use all of them.',
        tags,
        body: Type.Object(
          {
            name: Text(200),
            role: StringEnum(ROLES),
            channels: Type.Optional(Type.Array(Channel, { minItems: 1, maxItems: CHANNELS.length, uniqueItems: true })),
            purposes: Type.Optional(Type.Array(Purpose, { minItems: 1, maxItems: PURPOSES.length, uniqueItems: true }))
          },
          { additionalProperties: false }
        ),
        response: { 201: Type.Object({ ...ClientSchema.properties, token: Type.String() }), ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async (request, reply) => {
      const token = generateToken()
      const client = await insertClient(fastify.database.db, {
        id: randomUUID(),
        name: request.body.name,
        role: request.body.role,
        channels: request.body.channels ?? null,
        purposes: request.body.purposes ?? null,
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
      const revoked = await revokeClient(fastify.database.db, request.params.id, fastify.now())
      if (revoked) return revoked
      const existing = await findClient(fastify.database.db, request.params.id)
      if (!existing) throw new NotFoundError('client')
      return existing
    }
  )
}

export default clientRoutes
