import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { EntryRefSchema } from '../ledger/entry-ref.js'
import { EXAMPLE, EXAMPLE_CONSENT, EXAMPLE_ENTRY, EXAMPLE_RECIPIENT } from '../examples.js'
import { policyVersion } from '../policy/registry.js'
import {
  AUTHENTICATED_PROBLEMS,
  EntityId,
  IDEMPOTENT_REPLAYED_HEADER,
  IdempotencyKeyHeaders,
  MemberId,
  Text,
  Timestamp,
  Uuid,
  problemExample,
  problemsWith,
  validationExample,
  withExample,
  withExamples
} from '../schemas.js'
import { ConflictError, NotFoundError } from '../errors.js'
import { FEDERATION } from '../policy/parties.js'
import { findConsent, findConsentGrantEntry, listConsents, listSuspensions } from '../members/repository.js'
import {
  ConsentReceiptSchema,
  ConsentSchema,
  NewConsentSchema,
  SuspensionSchema,
  SuspensionScopeSchema,
  TransferOnConsentSchema,
  type Consent,
  type Suspension
} from '../members/schemas.js'
import { actContextOf, markReplayed } from './request-context.js'
import { buildConsentReceipt, rebuildConsentReceipt } from '../members/receipt.js'

/** A consent as the API shows it: the stored consent (src/members/schemas.ts), its status, and what a grant or a withdrawal adds. */
const ConsentAnswerSchema = Type.Object({
  ...ConsentSchema.properties,
  status: Type.Unsafe<'active' | 'withdrawn'>({ type: 'string', enum: ['active', 'withdrawn'] }),
  entry: Type.Optional(EntryRefSchema),
  receipt: Type.Optional({ ...ConsentReceiptSchema, description: 'On a grant: the consent receipt' }),
  backdated: Type.Optional(Type.Boolean({ description: 'On a withdrawal: withdrawnAt is earlier than the moment the withdrawal was recorded' })),
  transfersAfterWithdrawal: Type.Optional(
    Type.Array(TransferOnConsentSchema, {
      description:
        'On a withdrawal: the transfers allowed on this consent between withdrawnAt and the recording of the withdrawal, read from the ledger, ' +
        'for the co-op to act on (ask the recipients to stop and delete). Empty unless backdated.'
    })
  )
})

/** A suspension as the API shows it: the stored one (src/members/schemas.ts), with the ledger entry of a request or a lifting. */
const SuspensionAnswerSchema = Type.Object({
  ...SuspensionSchema.properties,
  entry: Type.Optional(EntryRefSchema)
})

// ---------------------------------------------------------------------------------------------
// Examples (the example world of src/examples.ts)

/** The ledger entry of the example grant: recorded when the consent was registered. */
const GRANT_ENTRY = { id: 'f7ea53a9-6b3f-4c43-a9fd-d792f36d87af', chain: 11, seq: 41, hash: EXAMPLE.prevHash, recordedAt: EXAMPLE.createdAt }
const CONSENT: Consent = {
  id: EXAMPLE.consentId,
  memberId: EXAMPLE.memberId,
  providerId: FEDERATION.id,
  recipientCategory: EXAMPLE_CONSENT.recipientCategory,
  recipientId: null,
  contractorId: null,
  foreignRecipient: null,
  dataItems: null,
  obtainedAt: new Date(EXAMPLE_CONSENT.obtainedAt).toISOString(),
  method: EXAMPLE_CONSENT.method,
  evidenceRef: EXAMPLE_CONSENT.evidenceRef,
  withdrawnAt: null,
  withdrawalReason: null,
  createdAt: EXAMPLE.createdAt,
  policyVersion: EXAMPLE.policyVersion
}
const RECEIPT = buildConsentReceipt(CONSENT, GRANT_ENTRY, null, policyVersion(EXAMPLE.policyVersion)!, FEDERATION)
const WITHDRAWN_AT = '2026-11-24T09:00:00.000Z'
const WITHDRAWAL_ENTRY = { ...EXAMPLE_ENTRY, id: '46cc8eb3-7d6d-47c8-910d-c59c1619c0b0', seq: 44, recordedAt: '2026-11-26T02:00:00.000Z' }
const WITHDRAWN = { ...CONSENT, withdrawnAt: WITHDRAWN_AT, withdrawalReason: '電話で撤回の申し出(11月24日)', status: 'withdrawn' as const }
const SUSPENSION: Suspension = {
  id: EXAMPLE.suspensionId,
  memberId: EXAMPLE.memberId,
  providerId: FEDERATION.id,
  reason: '本人から第三者提供の停止の請求(電話)',
  requestedAt: '2026-11-24T06:00:00.000Z',
  liftedAt: null,
  createdAt: EXAMPLE.createdAt,
  scope: 'provision'
}
const LIFTED = { ...SUSPENSION, liftedAt: '2026-11-30T01:00:00.000Z' }
const MEMBER_VALIDATION = validationExample('The member number has a character outside [A-Za-z0-9_-]', [
  { path: 'params/memberId', message: 'must match pattern "^[A-Za-z0-9_-]{1,64}$"' }
])
const CONSENT_NOT_FOUND = { not_found: problemExample('No consent with this id for this member', new NotFoundError('consent')) }
const SUSPENSION_NOT_FOUND = { not_found: problemExample('No suspension with this id for this member', new NotFoundError('suspension')) }

const MemberParams = Type.Object({ memberId: MemberId })
const ConsentParams = Type.Object({ memberId: MemberId, consentId: withExample(Uuid, EXAMPLE.consentId) })
/** The service's consent answers carry more than its declared return type says (src/decisions/service.ts). */
const tags = ['Members']
const writers = { roles: ['admin', 'ops'] as const }

function withStatus<T extends { withdrawnAt: string | null }>(consent: T) {
  return { ...consent, status: consent.withdrawnAt === null ? ('active' as const) : ('withdrawn' as const) }
}

const RecordingHeaders = Type.Object(IdempotencyKeyHeaders)

const memberRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/v1/members/:memberId/consents',
    {
      config: { access: writers },
      schema: {
        operationId: 'grantConsent',
        summary: "Record a member's consent to third-party provision (2(5))",
        description:
          'The consent covers one §II category, or one recipient of it when recipientId is given, and the listed items (all the ' +
          "category's necessary items of the policy version in force at obtainedAt when dataItems is omitted). The grant is written to the " +
          'ledger, and the answer carries a consent receipt for the member.',
        tags,
        headers: RecordingHeaders,
        params: MemberParams,
        body: withExamples(NewConsentSchema, {
          category: { summary: "To the category's necessary items, for every bank (on paper)", value: EXAMPLE_CONSENT },
          recipient: {
            summary: 'To one bank, for listed items (on the web)',
            value: {
              recipientCategory: EXAMPLE_RECIPIENT.category,
              recipientId: EXAMPLE.recipientId,
              dataItems: ['name', 'bank_account', 'billing_amount'],
              obtainedAt: '2026-11-19T20:41:07+09:00',
              method: 'web',
              evidenceRef: 'web-consent-2026-11-19-8841'
            }
          }
        }),
        response: {
          201: {
            ...withExamples(
              ConsentAnswerSchema,
              {
                category: {
                  summary: 'Recorded, with its ledger entry and the receipt for the member',
                  value: { ...CONSENT, status: 'active', entry: GRANT_ENTRY, receipt: RECEIPT }
                }
              },
              'The consent as recorded, with its ledger entry and a receipt for the member'
            ),
            headers: IDEMPOTENT_REPLAYED_HEADER
          },
          ...problemsWith(
            {
              400: {
                validation_failed: validationExample('obtainedAt without an offset', [
                  {
                    path: 'body/obtainedAt',
                    message: 'must be RFC 3339 with an offset within ±14:00 and a year from 1900 to 9999, e.g. 2026-04-01T10:00:00+09:00'
                  }
                ])
              }
            },
            ...AUTHENTICATED_PROBLEMS,
            422,
            503
          )
        }
      }
    },
    async (request, reply) => {
      const granted = await fastify.decisions.grantConsent(actContextOf(request), request.params.memberId, request.body, request.headers['idempotency-key'])
      const { consent, entry, receipt } = markReplayed(reply, granted)
      return reply.code(201).send({ ...withStatus(consent), entry, receipt })
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
        response: {
          200: withExamples(
            Type.Object({ consents: Type.Array(ConsentAnswerSchema) }),
            {
              consents: {
                summary: 'One consent in effect, one withdrawn',
                value: {
                  consents: [
                    { ...CONSENT, status: 'active' },
                    { ...WITHDRAWN, id: '754dd2ab-79d4-4380-adb9-12f8469bf808', recipientCategory: 'credit_company', evidenceRef: 'form-2025-0417' }
                  ]
                }
              }
            },
            "The member's consents"
          ),
          ...problemsWith({ 400: { validation_failed: MEMBER_VALIDATION } }, ...AUTHENTICATED_PROBLEMS)
        }
      }
    },
    async (request) => ({ consents: (await listConsents(fastify.database.db, request.params.memberId)).map(withStatus) })
  )

  fastify.get(
    '/v1/members/:memberId/consents/:consentId/receipt',
    {
      config: { access: writers },
      schema: {
        operationId: 'getConsentReceipt',
        summary: 'The consent receipt of a grant, again',
        description:
          'Rebuilt from the stored consent and the ledger entry of its grant: the same receipt the grant answered with, ' +
          'withdrawn or not. Check ledgerEntry.hash against GET /v1/ledger/{id}.',
        tags,
        params: ConsentParams,
        response: {
          200: withExamples(ConsentReceiptSchema, { receipt: { summary: 'The receipt of the example grant', value: RECEIPT } }, 'The consent receipt'),
          ...problemsWith({ 400: { validation_failed: MEMBER_VALIDATION }, 404: CONSENT_NOT_FOUND }, ...AUTHENTICATED_PROBLEMS, 404)
        }
      }
    },
    async (request) => {
      const { memberId, consentId } = request.params
      const db = fastify.database.db
      const [consent, grant] = await Promise.all([findConsent(db, memberId, consentId), findConsentGrantEntry(db, memberId, consentId)])
      if (!consent || !grant) throw new NotFoundError('consent')
      return rebuildConsentReceipt(consent, grant)
    }
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
        description:
          'withdrawnAt (default: now) may be earlier than now, when the member withdrew before the co-op recorded it. Then the answer and ' +
          'the ledger entry list the transfers allowed on this consent in between (transfersAfterWithdrawal), for the co-op to act on.',
        tags,
        headers: RecordingHeaders,
        params: ConsentParams,
        body: withExamples(Type.Object({ withdrawnAt: Type.Optional(Timestamp), reason: Type.Optional(Text(500)) }, { additionalProperties: false }), {
          now: { summary: 'Withdrawn now', value: { reason: '窓口で撤回の申し出' } },
          backdated: {
            summary: 'Withdrawn by phone two days ago, recorded now',
            value: { withdrawnAt: '2026-11-24T18:00:00+09:00', reason: '電話で撤回の申し出(11月24日)' }
          }
        }),
        response: {
          200: {
            ...withExamples(
              ConsentAnswerSchema,
              {
                backdated: {
                  summary: 'Backdated: a transfer allowed on the consent in between is listed',
                  value: {
                    ...WITHDRAWN,
                    entry: WITHDRAWAL_ENTRY,
                    backdated: true,
                    transfersAfterWithdrawal: [
                      {
                        entryId: EXAMPLE.entryId,
                        recordedAt: EXAMPLE.recordedAt,
                        hash: EXAMPLE.hash,
                        recipientId: EXAMPLE.recipientId,
                        purpose: 'billing',
                        dataItems: ['name', 'bank_account', 'billing_amount']
                      }
                    ]
                  }
                }
              },
              'The consent, withdrawn, with the ledger entry of the withdrawal'
            ),
            headers: IDEMPOTENT_REPLAYED_HEADER
          },
          ...problemsWith(
            {
              400: { validation_failed: MEMBER_VALIDATION },
              404: CONSENT_NOT_FOUND,
              409: {
                consent_already_withdrawn: problemExample(
                  'Withdrawn before',
                  new ConflictError('consent_already_withdrawn', 'this consent was already withdrawn')
                )
              }
            },
            ...AUTHENTICATED_PROBLEMS,
            404,
            409,
            422,
            503
          )
        }
      }
    },
    async (request, reply) => {
      const withdrawn = await fastify.decisions.withdrawConsent(
        actContextOf(request),
        request.params.memberId,
        request.params.consentId,
        request.body,
        request.headers['idempotency-key']
      )
      const { consent, entry, backdated, transfersAfterWithdrawal } = markReplayed(reply, withdrawn)
      return { ...withStatus(consent), entry, backdated, transfersAfterWithdrawal }
    }
  )

  fastify.post(
    '/v1/members/:memberId/suspensions',
    {
      config: { access: writers },
      schema: {
        operationId: 'suspendProvision',
        summary: "Stop third-party provision, or every use, of the member's data (APPI Art. 35)",
        description:
          'scope provision (default): every third_party transfer is denied (provision_suspended, Art. 35(3), 35(5)); scope use: every ' +
          'channel but statutory_exception is denied (use_suspended, Art. 35(1), 35(5)). Until lifted.',
        tags,
        headers: RecordingHeaders,
        params: MemberParams,
        body: withExamples(
          Type.Object(
            {
              providerId: Type.Optional({ ...EntityId, description: 'The provider the member asked (admin only). Default: the client’s provider.' }),
              reason: Text(500),
              requestedAt: Timestamp,
              scope: Type.Optional(SuspensionScopeSchema)
            },
            { additionalProperties: false }
          ),
          {
            provision: {
              summary: 'Stop third-party provision (the default scope)',
              value: { reason: SUSPENSION.reason, requestedAt: '2026-11-24T15:00:00+09:00' }
            },
            use: {
              summary: 'Stop every use but statutory exceptions',
              value: { reason: '本人から利用停止の請求(書面)', requestedAt: '2026-11-24T15:00:00+09:00', scope: 'use' }
            }
          }
        ),
        response: {
          201: {
            ...withExamples(
              SuspensionAnswerSchema,
              { provision: { summary: 'Third-party provision suspended', value: { ...SUSPENSION, entry: EXAMPLE_ENTRY } } },
              'The suspension, in effect until lifted, with its ledger entry'
            ),
            headers: IDEMPOTENT_REPLAYED_HEADER
          },
          ...problemsWith({ 400: { validation_failed: MEMBER_VALIDATION } }, ...AUTHENTICATED_PROBLEMS, 422, 503)
        }
      }
    },
    async (request, reply) => {
      const suspended = await fastify.decisions.suspendProvision(
        actContextOf(request),
        request.params.memberId,
        request.body,
        request.headers['idempotency-key']
      )
      const { suspension, entry } = markReplayed(reply, suspended)
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
        response: {
          200: withExamples(
            Type.Object({ suspensions: Type.Array(SuspensionAnswerSchema) }),
            { suspensions: { summary: 'One suspension in effect', value: { suspensions: [SUSPENSION] } } },
            "The member's suspensions"
          ),
          ...problemsWith({ 400: { validation_failed: MEMBER_VALIDATION } }, ...AUTHENTICATED_PROBLEMS)
        }
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
        headers: RecordingHeaders,
        params: Type.Object({ memberId: MemberId, suspensionId: withExample(Uuid, EXAMPLE.suspensionId) }),
        response: {
          200: {
            ...withExamples(
              SuspensionAnswerSchema,
              { lifted: { summary: 'Lifted', value: { ...LIFTED, entry: { ...EXAMPLE_ENTRY, recordedAt: LIFTED.liftedAt } } } },
              'The suspension, lifted, with the ledger entry of the lifting'
            ),
            headers: IDEMPOTENT_REPLAYED_HEADER
          },
          ...problemsWith(
            {
              400: { validation_failed: MEMBER_VALIDATION },
              404: SUSPENSION_NOT_FOUND,
              409: {
                suspension_already_lifted: problemExample('Lifted before', new ConflictError('suspension_already_lifted', 'this suspension was already lifted'))
              }
            },
            ...AUTHENTICATED_PROBLEMS,
            404,
            409,
            422,
            503
          )
        }
      }
    },
    async (request, reply) => {
      const lifted = await fastify.decisions.liftSuspension(
        actContextOf(request),
        request.params.memberId,
        request.params.suspensionId,
        request.headers['idempotency-key']
      )
      const { suspension, entry } = markReplayed(reply, lifted)
      return { ...suspension, entry }
    }
  )
}

export default memberRoutes
