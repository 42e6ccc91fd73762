import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { DomainError, NotFoundError } from '../errors.js'
import { CHANNELS, PURPOSES, ROLES } from '../policy/vocabulary.js'
import { EXAMPLE } from '../examples.js'
import {
  AUTHENTICATED_PROBLEMS,
  Channel,
  EntityId,
  Purpose,
  StringEnum,
  Text,
  Timestamp,
  problemExample,
  problemsWith,
  withExample,
  withExamples
} from '../schemas.js'
import { clientEntityId, EntityNotProviderError } from './entity.js'
import { scopeFieldsMisplaced } from './scope-rule.js'
import { findClient, insertClient, listClients, revokeClient } from './repository.js'
import { ClientSchema } from './schemas.js'
import { CLIENTS_CHANNEL } from './token-cache.js'
import { generateToken, hashToken } from './tokens.js'

const admins = { roles: ['admin'] as const }
const tags = ['Clients']

const BILLING_SYSTEM = {
  id: EXAMPLE.clientId,
  name: '請求システム',
  role: 'system' as const,
  entityId: 'shizenha',
  channels: ['third_party' as const],
  purposes: ['billing' as const],
  rateLimit: 600,
  createdAt: EXAMPLE.createdAt,
  revokedAt: null,
  expiresAt: '2027-03-31T23:59:59.000Z'
}
const OPS_DESK = {
  id: '3e25d1e0-c734-47f3-9d74-8cdf18c81a07',
  name: '組合員サービスセンター',
  role: 'ops' as const,
  entityId: 'shizenha',
  channels: null,
  purposes: null,
  rateLimit: null,
  createdAt: EXAMPLE.createdAt,
  revokedAt: null,
  expiresAt: null
}

/** A token that expired on arrival would admit nobody; an expiry is for the future. */
class ExpiryNotInFutureError extends DomainError {
  constructor() {
    super('validation_failed', 400, 'Bad Request', 'expiresAt must be in the future', {
      errors: [{ path: 'body/expiresAt', message: 'must be in the future' }]
    })
  }
}

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
          'rateLimit is set: then requests beyond it within a minute are 429 with Retry-After. With expiresAt (in the ' +
          'future) the token is refused (401) from that time on; without it, it works until revoked.',
        tags,
        body: withExamples(
          Type.Object(
            {
              name: Text(200),
              role: StringEnum(ROLES),
              entityId: Type.Optional({
                ...EntityId,
                description: 'The provider the client belongs to: the federation (default) or an active member co-op, by its id in GET /v1/entities'
              }),
              channels: Type.Optional(Type.Array(Channel, { minItems: 1, maxItems: CHANNELS.length, uniqueItems: true })),
              purposes: Type.Optional(Type.Array(Purpose, { minItems: 1, maxItems: PURPOSES.length, uniqueItems: true })),
              rateLimit: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  maximum: 1_000_000,
                  description: 'Requests per minute, for a system that must be held back; omitted: not throttled'
                })
              ),
              expiresAt: Type.Optional({
                ...Timestamp,
                description: 'RFC 3339 with an offset, in the future: from then on the token is refused (401); omitted: it does not expire'
              })
            },
            { additionalProperties: false }
          ),
          {
            system: {
              summary: 'The billing system: third-party provision for billing only, at most 600 requests a minute',
              value: {
                name: BILLING_SYSTEM.name,
                role: 'system',
                channels: ['third_party'],
                purposes: ['billing'],
                rateLimit: 600,
                expiresAt: '2027-04-01T08:59:59+09:00'
              }
            },
            ops: { summary: 'The member service desk (ops)', value: { name: OPS_DESK.name, role: 'ops' } }
          }
        ),
        response: {
          201: withExamples(
            Type.Object({ ...ClientSchema.properties, token: Type.String({ description: 'The bearer token: shown this once, stored only as a hash' }) }),
            { system: { summary: 'Registered; keep the token now', value: { ...BILLING_SYSTEM, token: 'shz_uJ2cU9s4vOVtICa_cut_EMaYumbioLrbdiuExJQC9_Y' } } },
            'Registered, with its token (Cache-Control: no-store)'
          ),
          ...problemsWith(
            {
              400: {
                scope_only_for_system: problemExample('channels on an ops client', new ScopeOnlyForSystemError(['channels'])),
                entity_not_provider: problemExample('JCCU, an unknown or a deactivated entity', new EntityNotProviderError()),
                expiry_not_in_future: problemExample('expiresAt in the past', new ExpiryNotInFutureError())
              }
            },
            ...AUTHENTICATED_PROBLEMS
          )
        }
      }
    },
    async (request, reply) => {
      const misplaced = scopeFieldsMisplaced(request.body)
      if (misplaced.length > 0) throw new ScopeOnlyForSystemError(misplaced)
      const now = fastify.now()
      const expiresAt = request.body.expiresAt === undefined ? null : new Date(request.body.expiresAt)
      if (expiresAt !== null && expiresAt.getTime() <= now.getTime()) throw new ExpiryNotInFutureError()
      const entityId = await clientEntityId(fastify.database.db, request.body.entityId)
      const token = generateToken()
      const client = await insertClient(fastify.database.db, {
        id: randomUUID(),
        name: request.body.name,
        role: request.body.role,
        entityId,
        channels: request.body.channels ?? null,
        purposes: request.body.purposes ?? null,
        rateLimit: request.body.rateLimit ?? null,
        expiresAt,
        tokenHash: hashToken(token),
        now
      })
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...client, token })
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
        response: {
          200: withExamples(
            Type.Object({ clients: Type.Array(ClientSchema) }),
            { clients: { summary: 'A system client and an ops client', value: { clients: [BILLING_SYSTEM, OPS_DESK] } } },
            'Every client, revoked ones included'
          ),
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
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
        params: Type.Object({ id: withExample(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }), EXAMPLE.clientId) }),
        response: {
          200: withExamples(
            ClientSchema,
            { revoked: { summary: 'Revoked', value: { ...BILLING_SYSTEM, revokedAt: '2026-11-30T01:00:00.000Z' } } },
            'The client, revoked (revoking it again answers the same)'
          ),
          ...problemsWith({ 404: { not_found: problemExample('No client with this id', new NotFoundError('client')) } }, ...AUTHENTICATED_PROBLEMS, 404)
        }
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
