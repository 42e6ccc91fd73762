import { Type, type Static, type TSchema } from 'typebox'
import type { DecisionRequest as EngineRequest } from '../policy/engine.js'
import { CHANNELS } from '../policy/vocabulary.js'
import {
  Bilingual,
  Channel,
  DataItem,
  DataItems,
  ExceptionBasis,
  MemberId,
  Method,
  ObligationCode,
  Purpose,
  ReasonCode,
  ServiceCategory,
  StringEnum,
  Text,
  Timestamp,
  Uuid
} from '../schemas.js'

const CHANNEL_FIELDS = {
  joint_use: ['jointUser'],
  entrustment: ['contractorId'],
  third_party: ['recipientId', 'method'],
  statutory_exception: ['exception']
} as const satisfies Record<(typeof CHANNELS)[number], string[]>
const CHANNEL_SPECIFIC = Object.values(CHANNEL_FIELDS).flat()

/** Each channel requires its own fields and refuses the others' (JSON Schema if/then). */
const channelRules = CHANNELS.map((channel) => ({
  if: { properties: { channel: { const: channel } }, required: ['channel'] },
  then: {
    required: [...CHANNEL_FIELDS[channel]],
    properties: Object.fromEntries(
      CHANNEL_SPECIFIC.filter((field) => !(CHANNEL_FIELDS[channel] as string[]).includes(field)).map((field) => [field, false])
    )
  }
}))

export const DecisionRequestSchema = Type.Object(
  {
    channel: Channel,
    memberId: MemberId,
    purpose: Purpose,
    serviceCategory: Type.Optional({
      ...ServiceCategory,
      description:
        'The scope of goods and services (※), where the hand-off has one. Optional on every channel; a third_party provision to insurers (mutual_aid_insurance) or travel providers (travel) without it, or with another, is a recorded deny (service_category_not_allowed).'
    }),
    dataItems: DataItems,
    recipientId: Type.Optional({ ...Uuid, description: 'third_party: a registered recipient' }),
    contractorId: Type.Optional({ ...Uuid, description: 'entrustment: a registered contractor' }),
    jointUser: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'joint_use: the joint user, JCCU' })),
    method: Type.Optional({ ...Method, description: 'third_party: how the data is provided' }),
    exception: Type.Optional(
      Type.Object(
        {
          basis: ExceptionBasis,
          reference: Text(500),
          approvedBy: Text(200),
          consentImpracticable: Type.Optional({
            ...Text(1000),
            description:
              "Why the person's consent could not be obtained (APPI Art. 27(1)(ii)). Required in substance for vital_interest: without it the request is a recorded deny (consent_impracticability_missing, 2(5)b), not a 400."
          })
        },
        { additionalProperties: false, description: 'statutory_exception: the legal ground and the manager (2(9)) who approved it' }
      )
    )
  },
  {
    additionalProperties: false,
    allOf: channelRules,
    description:
      'A hand-off to decide. Each channel needs its own fields and refuses the others: joint_use needs jointUser; entrustment needs contractorId; third_party needs recipientId and method; statutory_exception needs exception.'
  }
)
export type DecisionRequestBody = Static<typeof DecisionRequestSchema> & EngineRequest

export const EntrySchema = Type.Object(
  {
    id: Uuid,
    chain: Type.Integer({ minimum: 0 }),
    seq: Type.Integer({ minimum: 1, description: 'Position in its chain' }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: "SHA-256 of the entry's canonical form, lowercase hex" }),
    recordedAt: Timestamp
  },

)

export const ReasonSchema = Type.Object({
  code: ReasonCode,
  clause: Type.String({ description: 'The clause of the notice that decides, e.g. 2(5) or II' }),
  law: Type.Optional(Type.String({ description: 'The APPI article behind the clause' })),
  items: Type.Optional(Type.Array(DataItem, { description: 'The items the reason is about' })),
  message: Type.String({ description: 'In the language of Accept-Language (ja or en)' })
})

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** What the recipient of a third-party provision must confirm about the provider (APPI Art. 30). */
export const ProviderDetailsSchema = Type.Object(
  {
    name: Nullable(Bilingual),
    address: Nullable(Bilingual),
    representative: Nullable(Bilingual),
    acquisition: Nullable(Type.Object({ clause: Type.String(), ja: Type.String(), en: Type.String() }, { description: 'How the data was obtained, as the notice states it (2(1))' })),
    missing: Type.Array(StringEnum(['name', 'address', 'representative', 'acquisition']), {
      description: 'Details the notice does not state yet (null above); GET /v1/policy lists the same gap under warnings'
    }),
    message: Type.String({ description: 'What to do with the details, in the language of Accept-Language' })
  },
  {
    description:
      'With every allowed third_party decision: the co-op’s name, address and representative and how the data was obtained, for the calling system to send along to the recipient, which must confirm and record them (APPI Art. 30). Read from the policy; never made up.'
  }
)

export const DecisionSchema = Type.Object(
  {
    decision: Type.Unsafe<'allow' | 'deny'>({ type: 'string', enum: ['allow', 'deny'] }),
    reasons: Type.Array(ReasonSchema),
    policyVersion: Type.String(),
    obligations: Type.Array(
      Type.Object({
        code: ObligationCode,
        items: Type.Optional(Type.Array(DataItem)),
        until: Type.Optional(Timestamp),
        retention: Type.Optional(Type.String({ description: 'ISO 8601 duration' }))
      })
    ),
    consentId: Type.Optional(Uuid),
    contractId: Type.Optional(Uuid),
    providerDetails: Type.Optional(ProviderDetailsSchema),
    entry: Type.Optional({ ...EntrySchema, description: 'On /v1/transfers: the ledger entry that recorded the decision' })
  },
  { $id: 'Decision', description: 'An allow or deny, with the clauses of the notice that decide it' }
)

/** A reference to the shared Decision schema, so the OpenAPI document describes it once. */
export const DecisionRef = Type.Unsafe<Static<typeof DecisionSchema>>(Type.Ref('Decision'))
