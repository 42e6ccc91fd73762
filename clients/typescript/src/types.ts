import type { components, operations } from './generated/openapi.js'

/** What a calling system asks: one hand-off of one member's data (POST /v1/checks, /v1/transfers). */
export type DecisionRequest = operations['transfer']['requestBody']['content']['application/json']
/** The service's answer. `entry` (the ledger entry) is present on transfers only. */
export type Decision = components['schemas']['Decision']
/** An RFC 9457 problem as the service sends it. */
export type Problem = components['schemas']['Problem']
/** One offending field of a 400 `validation_failed`. */
export type ValidationIssue = NonNullable<Problem['errors']>[number]
export type Channel = DecisionRequest['channel']
export type Purpose = DecisionRequest['purpose']
export type DataItem = DecisionRequest['dataItems'][number]
export type ReasonCode = Decision['reasons'][number]['code']
