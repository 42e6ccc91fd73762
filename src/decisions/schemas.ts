import { Type, type Static } from 'typebox'
import { EXAMPLE_ENTRY } from '../examples.js'
import type { DecisionRequest as EngineRequest } from '../policy/engine.js'
import { CHANNELS } from '../policy/vocabulary.js'
import {
  Bilingual,
  Channel,
  DataItem,
  DataItems,
  ExceptionBasis,
  EntityId,
  MemberId,
  Method,
  Nullable,
  ObligationCode,
  Purpose,
  ReasonCode,
  WarningCode,
  ServiceCategory,
  StringEnum,
  Text,
  Timestamp,
  Uuid,
  validationExample,
  withIntro,
  type Examples,
  type ProblemBody
} from '../schemas.js'
import { DECISION_EXAMPLE_REQUESTS, EXAMPLE_FACTS, SENSITIVE_EXAMPLE_REQUEST as SENSITIVE, decidedExample } from '../decision-examples.js'
import { EntryRefSchema } from '../ledger/entry-ref.js'

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
    // `true` for its own fields (described above) and `false` for the others': a field the rule
    // requires is then one it names, as OpenAPI linters ask.
    properties: Object.fromEntries(CHANNEL_SPECIFIC.map((field) => [field, (CHANNEL_FIELDS[channel] as readonly string[]).includes(field)]))
  }
}))

export const DecisionRequestSchema = Type.Object(
  {
    channel: Channel,
    memberId: MemberId,
    purpose: Purpose,
    serviceCategory: Type.Optional(
      withIntro(
        ServiceCategory,
        'Where the hand-off has one. Optional on every channel; a third_party provision to insurers (mutual_aid_insurance) or travel providers (travel) without it, or with another, is a recorded deny (service_category_not_allowed).'
      )
    ),
    dataItems: DataItems,
    recipientId: Type.Optional({ ...Uuid, description: 'third_party: a registered recipient' }),
    contractorId: Type.Optional({ ...Uuid, description: 'entrustment: a registered contractor' }),
    jointUser: Type.Optional({
      ...EntityId,
      description:
        'joint_use: the joint user of 2(2), by its entity id (GET /v1/entities): JCCU, the federation or an active member co-op. An unknown or inactive one is a recorded deny (joint_user_unknown).'
    }),
    providerId: Type.Optional({
      ...EntityId,
      description:
        "The legal person that provides (GET /v1/entities). Default: the calling client's own. Only an admin may name another; a system client naming another is refused and the attempt recorded (client_scope)."
    }),
    method: Type.Optional(withIntro(Method, 'third_party only.')),
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

export const ReasonSchema = Type.Object({
  code: ReasonCode,
  clause: Type.String({ description: 'The clause of the notice that decides, e.g. 2(5) or II' }),
  law: Type.Optional(Type.String({ description: 'The APPI article behind the clause' })),
  items: Type.Optional(Type.Array(DataItem, { description: 'The items the reason is about' })),
  message: Type.String({ description: 'In the language of Accept-Language (ja or en)' })
})

/** What the recipient of a third-party provision must confirm about the provider (APPI Art. 30). */
export const ProviderDetailsSchema = Type.Object(
  {
    name: Nullable(Bilingual),
    address: Nullable(Bilingual),
    representative: Nullable(Bilingual),
    acquisition: Nullable(
      Type.Object({ clause: Type.String(), ja: Type.String(), en: Type.String() }, { description: 'How the data was obtained, as the notice states it (2(1))' })
    ),
    missing: Type.Array(StringEnum(['name', 'address', 'representative', 'acquisition']), {
      description: 'Details the notice does not state yet (null above); GET /v1/policy lists the same gap under warnings'
    }),
    message: Type.String({ description: 'What to do with the details, in the language of Accept-Language' })
  },
  {
    description:
      'With every allowed third_party decision (and an allowed entrustment abroad): the providing legal person’s name, address and representative (from the policy for the federation, from the registry for a member co-op) and how the data was obtained, for the calling system to send along to the recipient, which must confirm and record them (APPI Art. 30). Never made up: what is not on record is null and listed in missing.'
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
    providerId: { ...EntityId, description: 'The legal person that provides (or would have): the records of Art. 29 and Art. 33(5) are its own' },
    warnings: Type.Array(
      Type.Object({
        code: WarningCode,
        clause: Type.String(),
        article: Type.Optional(Type.String()),
        message: Type.String({ description: 'In the language of Accept-Language (ja or en)' })
      }),
      {
        description:
          'What the decision does not turn on but a data-protection officer should see: on every joint-use allow, what APPI Art. 27(5)(iii) asks the notice to state and it does not; on any decision, member_unseen for a member id nothing was ever recorded for'
      }
    ),
    consentId: Type.Optional(Uuid),
    contractId: Type.Optional(Uuid),
    providerDetails: Type.Optional(ProviderDetailsSchema),
    entry: Type.Optional({ ...EntryRefSchema, description: 'On /v1/transfers: the ledger entry that recorded the decision' })
  },
  { $id: 'Decision', description: 'An allow or deny, with the clauses of the notice that decide it' }
)

/** A reference to the shared Decision schema, so the OpenAPI document describes it once. */
export const DecisionRef = Type.Unsafe<Static<typeof DecisionSchema>>(Type.Ref('Decision'))

// ---------------------------------------------------------------------------------------------
// Headers and examples of the decision routes

/** The language of `reasons[].message` and `providerDetails.message`; sent back as Content-Language. */
export const DecisionHeaders = {
  'accept-language': Type.Optional(
    Type.String({
      description:
        'ja or en (default en): the language of reasons[].message and providerDetails.message. A list with qualities ' +
        '(ja-JP,ja;q=0.9,en;q=0.8) is read as browsers send it; a language that is neither answers in English.',
      examples: ['ja', 'en']
    })
  )
}

/** Headers of a decision answer. */
export const DECISION_RESPONSE_HEADERS = {
  'Content-Language': { type: 'string', enum: ['ja', 'en'], description: 'The language of the messages, from Accept-Language' }
}

type ExampleRequest = Static<typeof DecisionRequestSchema>

const { joint_use: JOINT_USE, entrustment: ENTRUSTMENT, third_party: THIRD_PARTY, statutory_exception: STATUTORY_EXCEPTION } = DECISION_EXAMPLE_REQUESTS

/** One valid request per channel, and one that is denied: "Try it out" sends the one chosen. */
export const DECISION_REQUEST_EXAMPLES: Examples<ExampleRequest> = {
  joint_use: { summary: 'joint_use: ordering, shared with JCCU (no serviceCategory needed)', value: JOINT_USE },
  entrustment: { summary: 'entrustment: delivery by a contractor under contract', value: ENTRUSTMENT },
  third_party: { summary: "third_party: billing through the member's bank, with consent on record", value: THIRD_PARTY },
  statutory_exception: { summary: 'statutory_exception: a tax audit the law obliges the co-op to answer (2(5)a)', value: STATUTORY_EXCEPTION },
  deny: {
    summary: 'A deny: a sensitive item (health_care) to a third party',
    description: 'Well-formed, so not a 400: it is decided and denied (403 on /v1/transfers), and the denial is recorded.',
    value: SENSITIVE
  }
}

/** The 400s of a decision route: a field the channel needs is missing, another channel's field is sent. */
export const DECISION_VALIDATION_EXAMPLES: Examples<ProblemBody> = {
  validation_failed: validationExample('third_party without recipientId, with joint_use’s jointUser', [
    { path: 'body/recipientId', message: "must have required property 'recipientId'" },
    { path: 'body/jointUser', message: 'is not used by this channel' }
  ])
}
export const BATCH_VALIDATION_EXAMPLES: Examples<ProblemBody> = {
  validation_failed: validationExample('The second item is third_party without recipientId, with joint_use’s jointUser', [
    { path: 'body/items/1/recipientId', message: "must have required property 'recipientId'" },
    { path: 'body/items/1/jointUser', message: 'is not used by this channel' }
  ])
}

const decided = decidedExample

/** A decision as /v1/transfers answers it: with the ledger entry that recorded it. */
function recorded(decision: ReturnType<typeof decidedExample>) {
  return { ...decision, entry: EXAMPLE_ENTRY }
}

const ALLOWED = {
  joint_use: { summary: 'joint_use allowed (2(2))', value: decided(JOINT_USE) },
  entrustment: { summary: 'entrustment allowed: contract in force, inspection current (2(4))', value: decided(ENTRUSTMENT) },
  third_party: {
    summary: 'third_party allowed: consent on record (2(5)), with the provider details the bank must confirm (APPI Art. 30)',
    value: decided(THIRD_PARTY)
  },
  statutory_exception: { summary: 'statutory_exception allowed: legal obligation (2(5)a)', value: decided(STATUTORY_EXCEPTION) }
}
const DENIED = {
  deny: { summary: 'Denied: a sensitive item to a third party (§II)', value: decided(SENSITIVE) },
  deny_ja: {
    summary: 'Denied, in Japanese (Accept-Language: ja): no consent on record (2(5))',
    value: decided(THIRD_PARTY, 'ja', { ...EXAMPLE_FACTS, consents: [] })
  }
}

function mapValues(examples: Examples<ReturnType<typeof decidedExample>>, map: (decision: ReturnType<typeof decidedExample>) => unknown): Examples {
  return Object.fromEntries(Object.entries(examples).map(([name, example]) => [name, { ...example, value: map(example.value) }]))
}

/** POST /v1/checks, 200: what each example request is decided, nothing recorded. */
export const CHECK_RESPONSE_EXAMPLES: Examples = { ...ALLOWED, ...DENIED }
/** POST /v1/transfers, 201: the allowed example requests, recorded. */
export const TRANSFER_ALLOWED_EXAMPLES: Examples = mapValues(ALLOWED, recorded)
/** POST /v1/transfers, 403 application/json: the denied example requests, recorded too. */
export const TRANSFER_DENIED_EXAMPLES: Examples = mapValues(DENIED, recorded)

/** POST /v1/transfers/batch: items are decided each on its own. */
export const BATCH_REQUEST_EXAMPLES: Examples = {
  mixed: { summary: 'A joint use and a third-party provision of the same member', value: { items: [JOINT_USE, THIRD_PARTY] } }
}
export const BATCH_RESPONSE_EXAMPLES: Examples = {
  mixed: {
    summary: 'Each item decided and recorded, in request order',
    value: {
      results: [
        recorded(decided(JOINT_USE)),
        {
          ...decided(THIRD_PARTY),
          entry: {
            ...EXAMPLE_ENTRY,
            id: '1d2b7f3e-8c4a-4e59-9b16-0a7c3e5d2f81',
            seq: 43,
            hash: '3db54c1b8b719d1850cc116f5d9bf3223f4649d813a85fe8874e42f9f5086181'
          }
        }
      ]
    }
  }
}
