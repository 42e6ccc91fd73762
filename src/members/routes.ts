import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { EntrySchema } from '../decisions/schemas.js'
import {
  AUTHENTICATED_PROBLEMS,
  ConsentMethod,
  DataItem,
  DataItems,
  MemberId,
  RecipientCategory,
  Text,
  Timestamp,
  Uuid,
  problems
} from '../schemas.js'
import { listConsents, listSuspensions } from './repository.js'
import type { ActContext } from '../decisions/acts.js'
import { preferredLanguage } from '../decisions/presenter.js'

const ConsentSchema = Type.Object({
  id: Uuid,
  memberId: MemberId,
  recipientCategory: RecipientCategory,
  recipientId: Type.Union([Uuid, Type.Null()]),
  dataItems: Type.Union([Type.Array(DataItem), Type.Null()], { description: 'null: every necessary item of the category' }),
  obtainedAt: Timestamp,
  method: ConsentMethod,
  evidenceRef: Type.String(),
  withdrawnAt: Type.Union([Timestamp, Type.Null()]),
  withdrawalReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  status: Type.Unsafe<'active' | 'withdrawn'>({ type: 'string', enum: ['active', 'withdrawn'] }),
  entry: Type.Optional(EntrySchema)
})

const SuspensionSchema = Type.Object({
  id: Uuid,
  memberId: MemberId,
  reason: Type.String(),
  requestedAt: Timestamp,
  liftedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  entry: Type.Optional(EntrySchema)
})

const MemberParams = Type.Object({ memberId: MemberId })
const tags = ['Members']
const writers = { roles: ['admin', 'ops'] as const }

function withStatus<T extends { withdrawnAt: string | null }>(consent: T) {
  return { ...consent, status: consent.withdrawnAt === null ? ('active' as const) : ('withdrawn' as const) }
}

const memberRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  function context(request: FastifyRequest): ActContext {
    return { client: request.client!, language: preferredLanguage(request.headers['accept-language']), log: request.log }
  }

  fastify.post(
    '/v1/members/:memberId/consents',
    {
      config: { access: writers },
      schema: {
        operationId: 'grantConsent',
        summary: "Record a member's consent to third-party provision (2(5))",
        description:
          'The consent covers one §II category, or one recipient of it when recipientId is given, and the listed items (all the ' +
          "category's necessary items when dataItems is omitted). The grant is written to the ledger.",
        tags,
        params: MemberParams,
        body: Type.Object(
          {
            recipientCategory: RecipientCategory,
            recipientId: Type.Optional(Uuid),
            dataItems: Type.Optional(DataItems),
            obtainedAt: Timestamp,
            method: ConsentMethod,
            evidenceRef: Text(500)
          },
          { additionalProperties: false }
        ),
        response: { 201: ConsentSchema, ...problems(...AUTHENTICATED_PROBLEMS, 503) }
      }
    },
    async (request, reply) => {
      const { consent, entry } = await fastify.decisions.grantConsent(context(request), request.params.memberId, request.body)
      return reply.code(201).send({ ...withStatus(consent), entry })
    }
  )

  fastify.get(
    '/v1/members/:memberId/consents',
    {
      config: { access: writers },
      schema: {
        operationId: 'listConsents',
        summary: "List a member's consents, withdrawn ones included",
        tags,
        params: MemberParams,
        response: { 200: Type.Object({ consents: Type.Array(ConsentSchema) }), ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async (request) => ({ consents: (await listConsents(fastify.database.db, request.params.memberId)).map(withStatus) })
  )

  fastify.post(
    '/v1/members/:memberId/consents/:consentId/withdraw',
    {
      config: { access: writers },
      // A withdrawal needs no details, so an empty POST is as good as `{}`.
      preValidation: async (request) => {
        request.body ??= {}
      },
      schema: {
        operationId: 'withdrawConsent',
        summary: 'Withdraw a consent; later third-party transfers relying on it are denied',
        tags,
        params: Type.Object({ memberId: MemberId, consentId: Uuid }),
        body: Type.Object(
          { withdrawnAt: Type.Optional(Timestamp), reason: Type.Optional(Text(500)) },
          { additionalProperties: false }
        ),
        response: { 200: ConsentSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 503) }
      }
    },
    async (request) => {
      const { consent, entry } = await fastify.decisions.withdrawConsent(context(request), request.params.memberId, request.params.consentId, request.body)
      return { ...withStatus(consent), entry }
    }
  )

  fastify.post(
    '/v1/members/:memberId/suspensions',
    {
      config: { access: writers },
      schema: {
        operationId: 'suspendProvision',
        summary: "Stop every third-party provision of the member's data (APPI Art. 35)",
        tags,
        params: MemberParams,
        body: Type.Object({ reason: Text(500), requestedAt: Timestamp }, { additionalProperties: false }),
        response: { 201: SuspensionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 503) }
      }
    },
    async (request, reply) => {
      const { suspension, entry } = await fastify.decisions.suspendProvision(context(request), request.params.memberId, request.body)
      return reply.code(201).send({ ...suspension, entry })
    }
  )

  fastify.get(
    '/v1/members/:memberId/suspensions',
    {
      config: { access: writers },
      schema: {
        operationId: 'listSuspensions',
        summary: "List a member's suspensions, lifted ones included",
        tags,
        params: MemberParams,
        response: { 200: Type.Object({ suspensions: Type.Array(SuspensionSchema) }), ...problems(...AUTHENTICATED_PROBLEMS) }
      }
    },
    async (request) => ({ suspensions: await listSuspensions(fastify.database.db, request.params.memberId) })
  )

  fastify.delete(
    '/v1/members/:memberId/suspensions/:suspensionId',
    {
      config: { access: writers },
      schema: {
        operationId: 'liftSuspension',
        summary: 'Lift a suspension',
        tags,
        params: Type.Object({ memberId: MemberId, suspensionId: Uuid }),
        response: { 200: SuspensionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 503) }
      }
    },
    async (request) => {
      const { suspension, entry } = await fastify.decisions.liftSuspension(context(request), request.params.memberId, request.params.suspensionId)
      return { ...suspension, entry }
    }
  )
}

export default memberRoutes
