import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { FACTS_CHANNEL, factKey } from '../db/facts-channel.js'
import { EXAMPLE, EXAMPLE_MEMBER_COOP } from '../examples.js'
import { ConflictError, NotFoundError } from '../errors.js'
import { missingDetails } from '../policy/parties.js'
import { AUTHENTICATED_PROBLEMS, EntityId, problemExample, problemsWith, validationExample, withExample, withExamples } from '../schemas.js'
import { findEntity, insertMemberCoop, listEntities, setEntityActive } from './repository.js'
import { EntitySchema, NewMemberCoopSchema, type Entity } from './schemas.js'

const present = (entity: Entity) => ({ ...entity, missing: missingDetails(entity) })

const EXAMPLE_COOP = {
  id: EXAMPLE.memberCoopId,
  ...EXAMPLE_MEMBER_COOP,
  address: null,
  representative: null,
  corporateNumber: null,
  active: true,
  source: 'registry',
  missing: ['address', 'representative', 'corporateNumber'],
  createdAt: '2026-12-07T01:00:00.000Z',
  updatedAt: '2026-12-07T01:00:00.000Z'
}
const tags = ['Registries']
const Params = Type.Object({ id: withExample(EntityId, EXAMPLE_COOP.id) })
const NOT_FOUND = { not_found: problemExample('No entity with this id', new NotFoundError('entity')) }
const NAMED_BY_POLICY = new ConflictError(
  'entity_named_by_policy',
  'the federation and JCCU are named by the policy document; a new policy version changes them'
)

const entityRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/v1/entities',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'listEntities',
        summary: 'List the legal persons of the notice: the federation, the member co-ops and JCCU',
        description:
          'The providers (the federation and the member co-ops, responsible for management under 2(2)) and the joint users of 2(2) (the same and JCCU). A jointUser, a providerId and a client’s entityId name one of these ids.',
        tags,
        querystring: Type.Object({ active: Type.Optional(Type.Boolean({ description: 'true: only active ones' })) }, { additionalProperties: false }),
        response: {
          200: withExamples(Type.Object({ entities: Type.Array(EntitySchema) }), {
            coop: { summary: 'One member co-op', value: { entities: [EXAMPLE_COOP] } }
          }),
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request) => ({ entities: (await listEntities(fastify.database.db, request.query)).map(present) })
  )

  fastify.get(
    '/v1/entities/:id',
    {
      config: { access: { roles: ['admin', 'ops', 'system'] } },
      schema: {
        operationId: 'getEntity',
        summary: 'Get a legal person',
        tags,
        params: Params,
        response: {
          200: withExamples(EntitySchema, { coop: { summary: 'A member co-op', value: EXAMPLE_COOP } }, 'The legal person'),
          ...problemsWith({ 404: NOT_FOUND }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request) => {
      const entity = await findEntity(fastify.database.db, request.params.id)
      if (!entity) throw new NotFoundError('entity')
      return present(entity)
    }
  )

  fastify.post(
    '/v1/entities',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'createEntity',
        summary: 'Register a member co-op',
        description:
          'Only member co-ops are registered: the federation and JCCU come from the policy document. What is not known stays absent (null), never invented; a member co-op is a provider and a joint user (2(2)) from its registration on.',
        tags,
        body: withExamples(NewMemberCoopSchema, { coop: { summary: 'A member co-op', value: EXAMPLE_MEMBER_COOP } }),
        response: {
          201: {
            ...withExamples(EntitySchema, { coop: { summary: 'Registered', value: EXAMPLE_COOP } }, 'Registered; Location names it'),
            headers: { Location: { type: 'string', description: 'The entity: /v1/entities/{id}' } }
          },
          ...problemsWith(
            {
              400: { validation_failed: validationExample('Not a member co-op', [{ path: 'body/kind', message: 'must be equal to constant' }]) },
              409: {
                corporate_number_taken: problemExample(
                  'The corporate number is registered already',
                  new ConflictError('corporate_number_taken', 'an entity with this corporate number is registered already')
                )
              }
            },
            ...AUTHENTICATED_PROBLEMS,
            409
          )
        }
      }
    },
    async (request, reply) => {
      const { corporateNumber } = request.body
      if (corporateNumber !== undefined && (await listEntities(fastify.database.db)).some((e) => e.corporateNumber === corporateNumber)) {
        throw new ConflictError('corporate_number_taken', 'an entity with this corporate number is registered already')
      }
      const entity = await insertMemberCoop(fastify.database.db, request.body, fastify.now())
      return reply.code(201).header('location', `/v1/entities/${entity.id}`).send(present(entity))
    }
  )

  fastify.patch(
    '/v1/entities/:id',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'updateEntity',
        summary: 'Deactivate (or reactivate) a member co-op',
        description:
          'An entity is never deleted: its records stay its own. Deactivated, it neither provides nor uses jointly (provider_unknown, joint_user_unknown).',
        tags,
        params: Params,
        body: withExamples(Type.Object({ active: Type.Boolean() }, { additionalProperties: false }), {
          deactivate: { summary: 'Deactivate', value: { active: false } }
        }),
        response: {
          200: withExamples(
            EntitySchema,
            { deactivate: { summary: 'Deactivated', value: { ...EXAMPLE_COOP, active: false, updatedAt: '2026-12-08T01:00:00.000Z' } } },
            'The entity as changed'
          ),
          ...problemsWith(
            { 404: NOT_FOUND, 409: { entity_named_by_policy: problemExample('The federation or JCCU', NAMED_BY_POLICY) } },
            ...AUTHENTICATED_PROBLEMS,
            404,
            409
          )
        }
      }
    },
    async (request) => {
      const existing = await findEntity(fastify.database.db, request.params.id)
      if (!existing) throw new NotFoundError('entity')
      if (existing.source === 'policy') throw NAMED_BY_POLICY
      const entity = await setEntityActive(fastify.database.db, existing.id, request.body.active, fastify.now())
      fastify.changes.announce(FACTS_CHANNEL, factKey.entity(existing.id))
      if (!entity) throw new NotFoundError('entity')
      return present(entity)
    }
  )
}

export default entityRoutes
