export { createDataSharingClient, unwrap, type CallOptions, type DataSharingClient, type DataSharingClientOptions, type TransferOptions } from './client.js'
export { isProblem, ProblemError, retryAfterSeconds, type RecordedAttempt } from './errors.js'
export { retryingFetch, type RetryEvent, type RetryHooks, type RetryOptions } from './retry.js'
export type {
  Channel,
  DataItem,
  Decision,
  DecisionRequest,
  DecisionRequestBody,
  Problem,
  Purpose,
  ReadonlyInput,
  ReasonCode,
  ValidationIssue
} from './types.js'
export type { components, operations, paths } from './generated/openapi.js'
