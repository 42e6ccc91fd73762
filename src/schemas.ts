import { Type, type Static, type TSchema } from 'typebox'
import { OBLIGATION_CODES } from './policy/engine.js'
import { REASON_CODES } from './policy/reasons.js'
import {
  CHANNELS,
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

export const Channel = StringEnum(CHANNELS)
export const Purpose = StringEnum(PURPOSES, { description: 'A purpose of use from §I of the notice' })
export const ServiceCategory = StringEnum(SERVICE_CATEGORIES, { description: 'The scope of goods and services (※)' })
export const RecipientCategory = StringEnum(RECIPIENT_CATEGORIES, { description: 'A §II recipient category' })
export const Method = StringEnum(METHODS)
export const ConsentMethod = StringEnum(CONSENT_METHODS)
export const ExceptionBasis = StringEnum(EXCEPTION_BASES)
export const DataItem = StringEnum(DATA_ITEMS)
export const ReasonCode = StringEnum(REASON_CODES)
export const ObligationCode = StringEnum(OBLIGATION_CODES)

export const MemberId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', minLength: 1, maxLength: 64, description: 'The member number' })
/** Accepted in any letter case, handled in lower case from validation on (plugins/validation.ts). */
export const Uuid = Type.String({ format: 'uuid', maxLength: 36, 'x-lowercase': true, description: 'A UUID; any letter case is accepted and answered in lower case' })
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40, description: 'RFC 3339 with an offset within ±14:00, year 1900–9999, e.g. 2026-04-01T10:00:00+09:00', examples: ['2026-04-01T10:00:00+09:00'] })
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

/** Response schemas for the given error statuses, each an RFC 9457 problem. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
        content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
      } as unknown as TSchema
    ])
  )
}

/** The errors every authenticated route can answer with. */
export const AUTHENTICATED_PROBLEMS = [400, 401, 403, 429] as const

export const Bilingual = Type.Object({ ja: Type.String(), en: Type.String() })
