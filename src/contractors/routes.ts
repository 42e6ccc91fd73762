import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InvalidRequestError, NotFoundError } from '../errors.js'
import { EXAMPLE, EXAMPLE_CONTRACT, EXAMPLE_CONTRACTOR, EXAMPLE_INSPECTION } from '../examples.js'
import { AUTHENTICATED_PROBLEMS, Uuid, problemExample, problemsWith, validationExample, withExample, withExamples } from '../schemas.js'
import {
  findContractor,
  insertContract,
  insertContractor,
  insertInspection,
  listContractors,
  listContracts,
  listInspections,
  updateContractor
} from './repository.js'
import { FACTS_CHANNEL, factKey } from '../db/facts-channel.js'
import {
  ContractSchema,
  ContractorChangesSchema,
  ContractorSchema,
  InspectionSchema,
  NewContractSchema,
  NewContractorSchema,
  NewInspectionSchema
} from './schemas.js'

/** The contractor's own fields the detail shows (not its country or equivalentMeasures), then its contracts and inspections. */
const ContractorDetail = Type.Object({
  ...Type.Pick(ContractorSchema, ['id', 'name', 'address', 'createdAt']).properties,
  contracts: Type.Array(ContractSchema),
  inspections: Type.Array(InspectionSchema, { description: 'Newest first' })
})

const ContractorParams = Type.Object({ id: withExample(Uuid, EXAMPLE.contractorId) })
const tags = ['Registries']

const CONTRACTOR = { id: EXAMPLE.contractorId, ...EXAMPLE_CONTRACTOR, country: 'JP', equivalentMeasures: null, createdAt: EXAMPLE.createdAt }
const iso = (time: string) => new Date(time).toISOString()
const CONTRACT = {
  id: EXAMPLE.contractId,
  contractorId: EXAMPLE.contractorId,
  ...EXAMPLE_CONTRACT,
  signedAt: iso(EXAMPLE_CONTRACT.signedAt),
  validFrom: iso(EXAMPLE_CONTRACT.validFrom),
  validUntil: iso(EXAMPLE_CONTRACT.validUntil),
  createdAt: EXAMPLE.createdAt
}
const INSPECTION = {
  id: EXAMPLE.inspectionId,
  contractorId: EXAMPLE.contractorId,
  ...EXAMPLE_INSPECTION,
  inspectedAt: iso(EXAMPLE_INSPECTION.inspectedAt),
  createdAt: '2026-11-10T07:00:00.000Z'
}
const NOT_FOUND = { not_found: problemExample('No contractor with this id', new NotFoundError('contractor')) }
const ID_VALIDATION = { validation_failed: validationExample('The id is not a UUID', [{ path: 'params/id', message: 'must match format "uuid"' }]) }

const contractorRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  async function requireContractor(id: string) {
    const contractor = await findContractor(fastify.database.db, id)
    if (!contractor) throw new NotFoundError('contractor')
    return contractor
  }

  fastify.post(
    '/v1/contractors',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'createContractor',
        summary: 'Register a contractor (業務委託先)',
        tags,
        body: withExamples(NewContractorSchema, {
          delivery: { summary: 'The delivery company', value: EXAMPLE_CONTRACTOR },
          abroad: {
            summary: 'A call centre abroad, with an equivalent-measures system checked this year',
            value: {
              name: 'Shizenha Support Philippines Inc.',
              address: 'Makati City, Metro Manila',
              country: 'PH',
              equivalentMeasures: { basis: 'Contract clauses binding the contractor to APPI-level measures', lastCheckedAt: '2026-10-01T10:00:00+09:00' }
            }
          }
        }),
        response: {
          201: {
            ...withExamples(ContractorSchema, { delivery: { summary: 'Registered', value: CONTRACTOR } }, 'Registered; Location names it'),
            headers: { Location: { type: 'string', description: 'The contractor: /v1/contractors/{id}' } }
          },
          ...problemsWith(
            { 400: { validation_failed: validationExample('No address', [{ path: 'body/address', message: "must have required property 'address'" }]) } },
            ...AUTHENTICATED_PROBLEMS
          )
        }
      }
    },
    async (request, reply) => {
      const contractor = await insertContractor(fastify.database.db, request.body, fastify.now())
      fastify.changes.announce(FACTS_CHANNEL, factKey.contractor(contractor.id))
      return reply.code(201).header('location', `/v1/contractors/${contractor.id}`).send(contractor)
    }
  )

  fastify.patch(
    '/v1/contractors/:id',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'updateContractor',
        summary: "Record a contractor's country or its equivalent-measures system (APPI Art. 28)",
        description: 'A new periodic check of the equivalent-measures system is recorded as its new lastCheckedAt (Art. 28(3)).',
        tags,
        params: ContractorParams,
        body: withExamples(ContractorChangesSchema, {
          checked: {
            summary: 'The yearly check of its equivalent-measures system (Art. 28(3))',
            value: {
              equivalentMeasures: { basis: 'Contract clauses binding the contractor to APPI-level measures', lastCheckedAt: '2026-12-01T10:00:00+09:00' }
            }
          }
        }),
        response: {
          200: withExamples(ContractorSchema, { delivery: { summary: 'Changed', value: CONTRACTOR } }, 'The contractor as changed'),
          ...problemsWith({ 404: { not_found: problemExample('No contractor with this id', new NotFoundError('contractor')) } }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request) => {
      const contractor = await updateContractor(fastify.database.db, request.params.id, request.body)
      fastify.changes.announce(FACTS_CHANNEL, factKey.contractor(request.params.id))
      if (!contractor) throw new NotFoundError('contractor')
      return contractor
    }
  )

  fastify.get(
    '/v1/contractors',
    {
      config: { access: { roles: ['admin', 'ops'] } },
      schema: {
        operationId: 'listContractors',
        summary: 'List contractors',
        tags,
        response: {
          200: withExamples(
            Type.Object({ contractors: Type.Array(ContractorSchema) }),
            { contractors: { summary: 'One contractor', value: { contractors: [CONTRACTOR] } } },
            'Every registered contractor'
          ),
          ...problemsWith({}, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async () => ({ contractors: await listContractors(fastify.database.db) })
  )

  fastify.get(
    '/v1/contractors/:id',
    {
      config: { access: { roles: ['admin', 'ops'] } },
      schema: {
        operationId: 'getContractor',
        summary: 'Get a contractor with its contracts and inspections',
        tags,
        params: ContractorParams,
        response: {
          200: withExamples(
            ContractorDetail,
            { delivery: { summary: 'Under contract, inspected', value: { ...CONTRACTOR, contracts: [CONTRACT], inspections: [INSPECTION] } } },
            'The contractor with its contracts and inspections'
          ),
          ...problemsWith({ 400: ID_VALIDATION, 404: NOT_FOUND }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request) => {
      const contractor = await requireContractor(request.params.id)
      const [contracts, inspections] = await Promise.all([
        listContracts(fastify.database.db, contractor.id),
        listInspections(fastify.database.db, contractor.id)
      ])
      return { ...contractor, contracts, inspections }
    }
  )

  fastify.post(
    '/v1/contractors/:id/contracts',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'createContract',
        summary: 'Record a contract that ensures appropriate handling (2(4))',
        description:
          'An entrustment is allowed only under a contract already signed (signedAt at or before the decision) whose validity ' +
          '(validFrom to validUntil) includes the decision time; a contract in its validity period but not yet signed denies with contract_not_signed.',
        tags,
        params: ContractorParams,
        body: withExamples(NewContractSchema, { delivery: { summary: 'Delivery: name, address and phone, for a year', value: EXAMPLE_CONTRACT } }),
        response: {
          201: withExamples(ContractSchema, { delivery: { summary: 'Recorded', value: CONTRACT } }, 'The contract as recorded'),
          ...problemsWith(
            {
              400: {
                ...ID_VALIDATION,
                validity_reversed: problemExample('validUntil before validFrom', new InvalidRequestError('validity_reversed', 'validUntil is before validFrom'))
              },
              404: NOT_FOUND
            },
            ...AUTHENTICATED_PROBLEMS,
            404
          )
        }
      }
    },
    async (request, reply) => {
      const body = request.body
      if (new Date(body.validUntil) < new Date(body.validFrom)) {
        throw new InvalidRequestError('validity_reversed', 'validUntil is before validFrom')
      }
      if (new Date(body.signedAt) > new Date(body.validUntil)) {
        throw new InvalidRequestError('signed_after_expiry', 'signedAt is after validUntil')
      }
      const contractor = await requireContractor(request.params.id)
      const contract = await insertContract(fastify.database.db, contractor.id, body, fastify.now())
      fastify.changes.announce(FACTS_CHANNEL, factKey.contractor(contractor.id))
      return reply.code(201).send(contract)
    }
  )

  fastify.post(
    '/v1/contractors/:id/inspections',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        operationId: 'createInspection',
        summary: "Record an inspection of the contractor's handling (実施状況の点検, 2(4))",
        tags,
        params: ContractorParams,
        body: withExamples(NewInspectionSchema, {
          passed: { summary: 'Passed', value: EXAMPLE_INSPECTION },
          failed: {
            summary: 'Failed: entrustments to the contractor are denied (inspection_failed) until one passes',
            value: { inspectedAt: '2026-11-12T14:00:00+09:00', result: 'failed', inspector: '品質管理部 鈴木一郎', notes: '配送伝票の廃棄記録が不備' }
          }
        }),
        response: {
          201: withExamples(InspectionSchema, { passed: { summary: 'Recorded', value: INSPECTION } }, 'The inspection as recorded'),
          ...problemsWith(
            {
              400: {
                ...ID_VALIDATION,
                inspection_in_future: problemExample(
                  'inspectedAt is later than now',
                  new InvalidRequestError('inspection_in_future', 'inspectedAt is in the future')
                )
              },
              404: NOT_FOUND
            },
            ...AUTHENTICATED_PROBLEMS,
            404
          )
        }
      }
    },
    async (request, reply) => {
      if (new Date(request.body.inspectedAt) > fastify.now()) {
        throw new InvalidRequestError('inspection_in_future', 'inspectedAt is in the future')
      }
      const contractor = await requireContractor(request.params.id)
      const inspection = await insertInspection(fastify.database.db, contractor.id, request.body, fastify.now())
      fastify.changes.announce(FACTS_CHANNEL, factKey.contractor(contractor.id))
      return reply.code(201).send(inspection)
    }
  )
}

export default contractorRoutes
