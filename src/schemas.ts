import { Type, type Static, type TSchema } from 'typebox'
import { EXAMPLE } from './examples.js'
import {
  DatabaseUnavailableError,
  ForbiddenError,
  IdempotencyConflictError,
  NotFoundError,
  TOKEN_STATUSES,
  UnauthorizedError,
  type DomainError
} from './errors.js'
import { OBLIGATION_CODES } from './policy/engine.js'
import { REASONS, REASON_CODES, WARNING_CODES, warningText } from './policy/reasons.js'
import { POLICY_VERSIONS } from './policy/registry.js'
import {
  CHANNELS,
  CONSENT_METHOD_LABELS,
  CONSENT_METHODS,
  DATA_ITEMS,
  EXCEPTION_BASES,
  METHODS,
  PURPOSES,
  RECIPIENT_CATEGORIES,
  SERVICE_CATEGORIES
} from './policy/vocabulary.js'

/** A closed string vocabulary, rendered as a plain `enum` so the OpenAPI document lists it. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

// ---------------------------------------------------------------------------------------------
// The vocabulary, labelled in Japanese and English from the policy data

/**
 * The published notice the labels are read from. The vocabulary is closed and its labels have
 * not changed between versions; GET /v1/policy gives those of the version in force.
 */
const NOTICE = POLICY_VERSIONS[0]!

interface Label {
  readonly id: string
  readonly ja: string
  readonly en: string
  /** The clause (and law) the value rests on, or another short note. */
  readonly note?: string
}

/**
 * One Markdown line per value of `values`: `value` (clause): 日本語 / English. A value the policy
 * data gives no label for fails at start-up rather than going undocumented.
 */
function labelList(values: readonly string[], labels: readonly Label[]): string {
  return values
    .map((value) => {
      const label = labels.find((l) => l.id === value)
      if (!label) throw new Error(`the policy data gives no label for ${value}`)
      return `- \`${value}\`${label.note ? ` (${label.note})` : ''}: ${label.ja} / ${label.en}`
    })
    .join('\n')
}

/** A closed vocabulary whose description says what it is, then every value with its labels. */
function LabelledEnum<const T extends readonly string[]>(values: T, intro: string, labels: readonly Label[]) {
  return StringEnum(values, { description: `${intro}\n\n${labelList(values, labels)}` })
}

/** The same schema, its description prefixed with what the field means where it is used. */
export function withIntro<T extends TSchema>(schema: T, intro: string): T {
  const description = (schema as { description?: string }).description
  return { ...schema, description: description === undefined ? intro : `${intro}\n\n${description}` }
}

export const Channel = LabelledEnum(
  CHANNELS,
  'How the data leaves (経路), with the clauses of the notice that govern it.',
  NOTICE.channels.map((c) => ({ id: c.id, ja: c.ja, en: c.en, note: c.clauses.join(', ') }))
)
export const Purpose = LabelledEnum(
  PURPOSES,
  'A purpose of use from §I of the notice (利用目的).',
  NOTICE.purposes.map((p) => ({ id: p.id, ja: p.ja, en: p.en, note: p.clause }))
)
export const ServiceCategory = LabelledEnum(
  SERVICE_CATEGORIES,
  'The scope of goods and services (※ 商品・サービスの範囲).',
  NOTICE.serviceCategories.map((c) => ({ id: c.id, ja: c.ja, en: c.en, note: c.clause }))
)
export const RecipientCategory = LabelledEnum(
  RECIPIENT_CATEGORIES,
  'A §II recipient category (第三者提供先の区分). Its purpose and necessary items are policy data: GET /v1/policy.',
  NOTICE.recipientCategories.map((c) => ({ id: c.id, ja: c.ja, en: c.en, note: c.clause }))
)
export const Method = LabelledEnum(METHODS, 'How a third party is provided with the data (§II 提供方法).', NOTICE.methods)
export const ConsentMethod = LabelledEnum(
  CONSENT_METHODS,
  "How the member's consent was obtained (同意の取得方法).",
  CONSENT_METHODS.map((id) => ({ id, ...CONSENT_METHOD_LABELS[id] }))
)
export const ExceptionBasis = LabelledEnum(
  EXCEPTION_BASES,
  'The legal ground of a statutory exception (法令等に基づく提供の根拠).',
  NOTICE.exceptions.map((e) => ({ id: e.basis, ja: e.ja, en: e.en, note: `${e.clause}, ${e.law}` }))
)
export const DataItem = LabelledEnum(
  DATA_ITEMS,
  'An item of personal information from the catalogue of the policy (個人情報の項目).',
  NOTICE.dataItems.map((d) => ({ id: d.id, ja: d.ja, en: d.en, ...(d.sensitive ? { note: 'sensitive: never provided to a third party' } : {}) }))
)
export const ReasonCode = LabelledEnum(
  REASON_CODES,
  'Why a decision came out as it did: a closed, stable vocabulary, each code with the clause of the notice (and the APPI article) it rests on. ' +
    '`message` carries the text below in the language of Accept-Language.',
  REASON_CODES.map((code) => {
    const reason: { clause: string; law?: string; message: { ja: string; en: string } } = REASONS[code]
    return { id: code, ...reason.message, note: reason.law ? `${reason.clause}; ${reason.law}` : reason.clause }
  })
)
export const WarningCode = LabelledEnum(
  WARNING_CODES,
  'A warning beside a decision: what the notice fails to state that the decision rests on (the policy lint, on joint-use allows), or a member id nothing was recorded for. The decision is made all the same.',
  WARNING_CODES.map((code) => ({ id: code, ...warningText(code) }))
)
export const ObligationCode = StringEnum(OBLIGATION_CODES, {
  description:
    'What comes with an allow: items_limited_to (hand over these `items` only), keep_provision_record (the record of this provision is kept for `retention`, APPI Art. 29), reinspect_by (the contractor must be inspected again by `until`, 2(4))'
})

export const MemberId = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  minLength: 1,
  maxLength: 64,
  description: 'The member number',
  examples: [EXAMPLE.memberId]
})
/** Accepted in any letter case, handled in lower case from validation on (plugins/validation.ts). */
export const Uuid = Type.String({
  format: 'uuid',
  maxLength: 36,
  'x-lowercase': true,
  description: 'A UUID; any letter case is accepted and answered in lower case'
})
export const Timestamp = Type.String({
  format: 'date-time',
  maxLength: 40,
  description: 'RFC 3339 with an offset within ±14:00, year 1900–9999, e.g. 2026-04-01T10:00:00+09:00',
  examples: ['2026-04-01T10:00:00+09:00']
})
/** Free text a clerk types: bounded, never empty. */
export const Text = (maxLength = 500) => Type.String({ minLength: 1, maxLength })
export const DataItems = Type.Array(DataItem, { minItems: 1, maxItems: 64, uniqueItems: true })

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: Type.Optional(Type.String({ description: 'A stable machine-readable error code' })),
    instance: Type.Optional(Type.String({ description: 'The request id, as in X-Request-Id' })),
    tokenStatus: Type.Optional(
      StringEnum(TOKEN_STATUSES, {
        description:
          'On a 401: why the bearer token was refused. missing (no Authorization header), malformed (not Bearer and one token), unknown (never issued here), revoked or expired (ask an admin for a new one). The WWW-Authenticate header says the same (RFC 6750).'
      })
    ),
    entry: Type.Optional(
      Type.Object(
        { id: Type.String(), chain: Type.Integer(), seq: Type.Integer(), hash: Type.String(), recordedAt: Type.String() },
        { description: 'client_scope: the ledger entry that recorded the refused attempt' }
      )
    ),
    errors: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
        description: 'Validation errors, one per offending field'
      })
    )
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' }
)
export type ProblemBody = Static<typeof Problem>

// ---------------------------------------------------------------------------------------------
// Examples for the OpenAPI document (shown by /docs, checked by test/docs/examples.test.ts)

/** A named example of an OpenAPI media type or parameter. */
export interface Example<T = unknown> {
  readonly summary: string
  readonly description?: string
  readonly value: T
}
export type Examples<T = unknown> = Readonly<Record<string, Example<T>>>

/**
 * The schema with named examples: fastify-swagger moves `x-examples` of a body or response
 * schema to the media type's `examples`, which /docs offers in a drop-down and "Try it out" sends.
 * `response`, for a response schema, is the response's description (the schema keeps its own).
 */
export function withExamples<T extends TSchema>(schema: T, examples: Examples, response?: string): T {
  return { ...schema, 'x-examples': examples, ...(response === undefined ? {} : { 'x-response-description': response }) }
}

/** The schema with one example value: a parameter shows it, and "Try it out" fills it in. */
export function withExample<T extends TSchema>(schema: T, value: unknown): T {
  return { ...schema, examples: [value] }
}

/** The base of every problem's `type`, as plugins/errors.ts builds it. */
const PROBLEM_TYPE_BASE = 'https://shizenha.example/problems/'

/** The problem body the error handler sends for `error`. */
export function problemExample(summary: string, error: DomainError, extensions: Partial<ProblemBody> = {}): Example<ProblemBody> {
  return {
    summary,
    value: {
      type: `${PROBLEM_TYPE_BASE}${error.code}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
      instance: EXAMPLE.requestId,
      ...(error.extensions as Partial<ProblemBody>),
      ...extensions
    }
  }
}

/** The 400 the schema validation answers with, one entry per offending field. */
export function validationExample(summary: string, errors: { path: string; message: string }[]): Example<ProblemBody> {
  return {
    summary,
    value: {
      type: `${PROBLEM_TYPE_BASE}validation_failed`,
      title: 'Bad Request',
      status: 400,
      detail: 'the request does not match the schema',
      code: 'validation_failed',
      instance: EXAMPLE.requestId,
      errors
    }
  }
}

/** A problem this module cannot build from an error class of its own (framework and plugin errors). */
function plainProblem(summary: string, status: number, title: string, code: string, detail: string): Example<ProblemBody> {
  return { summary, value: { type: `${PROBLEM_TYPE_BASE}${code}`, title, status, detail, code, instance: EXAMPLE.requestId } }
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or fails validation; nothing was changed',
  401: 'No valid bearer token',
  403: 'The role or scope of the calling client does not permit this',
  404: 'No such resource',
  409: 'The request conflicts with the current state',
  413: 'The body is larger than the limit',
  415: 'The body is not application/json',
  422: 'The Idempotency-Key was used with another body',
  429: 'Too many requests from this client; see Retry-After',
  503: 'A dependency is unavailable; nothing was allowed or changed'
}

/** What every route answers with for a status, unless the route names its own examples. */
const DEFAULT_PROBLEM_EXAMPLES: Partial<Record<number, Examples<ProblemBody>>> = {
  400: { malformed_request: plainProblem('The request cannot be read', 400, 'Bad Request', 'malformed_request', 'the request is malformed') },
  // Two of the five tokenStatus values, so that the 36 routes' answers stay short; the enum lists all five.
  401: {
    missing: problemExample('No Authorization header', new UnauthorizedError('missing')),
    revoked: problemExample('A token that was revoked (also: malformed, unknown, expired; see tokenStatus)', new UnauthorizedError('revoked'))
  },
  403: { forbidden: problemExample("The client's role may not call this route", new ForbiddenError()) },
  404: { not_found: problemExample('No such resource', new NotFoundError('the resource')) },
  413: { too_large: plainProblem('The body is over 1 MiB', 413, 'Content Too Large', 'malformed_request', 'the body is larger than the limit') },
  415: {
    unsupported_media_type: plainProblem('The body is not JSON', 415, 'Unsupported Media Type', 'unsupported_media_type', 'the body must be application/json')
  },
  422: { idempotency_key_reused: problemExample('The same Idempotency-Key with another body', new IdempotencyConflictError()) },
  429: {
    rate_limited: plainProblem(
      'Too many failed authentications from this address',
      429,
      'Too Many Requests',
      'rate_limited',
      'too many failed authentications from this address; retry after the time in Retry-After'
    )
  },
  503: { database_unavailable: problemExample('The database is away; retry after Retry-After', new DatabaseUnavailableError()) }
}

/** The request header of every route that records something, for a safe retry after a 503 or a lost answer. */
export const IdempotencyKeyHeaders = {
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description:
        'Repeat the call safely: the same key and body return the first response (with Idempotent-Replayed: true) and record nothing; ' +
        'the same key with another body, or on another route, is a 422. Kept per client for at least IDEMPOTENCY_TTL_HOURS (48).',
      examples: ['billing-2026-11-M-000123']
    })
  )
}

/** The response header that marks a replayed answer. */
export const IDEMPOTENT_REPLAYED_HEADER = {
  'Idempotent-Replayed': {
    type: 'string',
    enum: ['true'],
    description: 'Present on a repeat with the same Idempotency-Key and body: this is the first answer again, and nothing was recorded'
  }
}

const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    type: 'string',
    description:
      'The bearer challenge (RFC 6750 §3): Bearer realm="shizenha", with error="invalid_request" for a malformed header or error="invalid_token" and an error_description for a refused token',
    examples: ['Bearer realm="shizenha", error="invalid_token", error_description="the bearer token was revoked: ask an admin for a new one"']
  }
}

const RETRY_AFTER = {
  'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before trying again' }
}

/**
 * Response schemas for the given error statuses, each an RFC 9457 problem with named examples:
 * those given in `examples` for a status, else the default for it. A 409 means something
 * different on every route, so it has no default: a route that answers one names its own
 * (test/docs/examples.test.ts finds a response without examples).
 */
export function problemsWith(examples: Partial<Record<number, Examples<ProblemBody>>>, ...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(
    statuses.map((status) => {
      const named = examples[status] ?? DEFAULT_PROBLEM_EXAMPLES[status]
      return [
        status,
        {
          description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
          ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : status === 401 ? { headers: WWW_AUTHENTICATE } : {}),
          content: { 'application/problem+json': { schema: Type.Ref('Problem'), ...(named === undefined ? {} : { examples: named }) } }
        }
      ]
    })
  )
}

/** Response schemas for the given error statuses with the default examples (see problemsWith). */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return problemsWith({}, ...statuses)
}

/** The errors every authenticated route can answer with. */
export const AUTHENTICATED_PROBLEMS = [400, 401, 403, 429] as const

export const Bilingual = Type.Object({ ja: Type.String(), en: Type.String() })

export const EntityId = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
  description: "A legal person's id (GET /v1/entities): the policy's id for the federation and JCCU, a UUID for a member co-op"
})

/** Where a recipient or contractor is (APPI Art. 28). */
export const Country = Type.String({
  pattern: '^[A-Z]{2}$',
  minLength: 2,
  maxLength: 2,
  description:
    'ISO 3166-1 alpha-2 country code, upper case; JP when not given. Outside Japan and the countries the PPC designated (the EEA and the UK: treated as Japan), a third_party provision or an entrustment needs a consent with foreignRecipient or a current equivalentMeasures (APPI Art. 28); else it is denied (recipient_abroad, contractor_abroad).',
  examples: ['JP']
})

/** An equivalent-measures system (基準適合体制, APPI Art. 28(1)) and its last periodic check (Art. 28(3)). */
export const EquivalentMeasuresSchema = Type.Object(
  {
    basis: {
      ...Type.String({ minLength: 1, maxLength: 1000 }),
      description: 'What the system rests on, e.g. the contract clauses binding the party to APPI-level measures, or an APEC CBPR certification'
    },
    lastCheckedAt: {
      ...Timestamp,
      description: 'When its implementation was last checked (Art. 28(3)); older than 365 days, it no longer grounds a hand-off abroad'
    }
  },
  { additionalProperties: false }
)

/** A value or null: for what a record or the notice does not state. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
