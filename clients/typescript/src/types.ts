import type { components, operations } from './generated/openapi.js'

/** The request body exactly as the document describes it (what goes over the wire). */
export type DecisionRequestBody = operations['transfer']['requestBody']['content']['application/json']

/**
 * The same shape with every array read-only, so a caller's `as const` request (or any frozen
 * list of items) is accepted: the client never changes what it is given.
 */
export type ReadonlyInput<T> = T extends readonly (infer Item)[]
  ? readonly ReadonlyInput<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: ReadonlyInput<T[Key]> }
    : T

/** What a calling system asks: one hand-off of one member's data (POST /v1/checks, /v1/transfers). */
export type DecisionRequest = ReadonlyInput<DecisionRequestBody>
/** The service's answer. `entry` (the ledger entry) is present on transfers only. */
export type Decision = components['schemas']['Decision']
/** An RFC 9457 problem as the service sends it. */
export type Problem = components['schemas']['Problem']
/** One offending field of a 400 `validation_failed`. */
export type ValidationIssue = NonNullable<Problem['errors']>[number]
export type Channel = DecisionRequest['channel']
export type Purpose = DecisionRequest['purpose']
export type DataItem = DecisionRequestBody['dataItems'][number]
export type ReasonCode = Decision['reasons'][number]['code']
