import type { Problem, ValidationIssue } from './types.js'

/** The ledger entry of a refused attempt (`client_scope`), as the problem carries it. */
export type RecordedAttempt = NonNullable<Problem['entry']>

/**
 * An error answer of the service (RFC 9457 problem+json), or a response that is not one (a
 * proxy's error page: `code` is then `unexpected_response`).
 *
 * Branch on `status` and `code`, never on `detail` (its wording may change). Codes the service
 * uses include `validation_failed`, `malformed_request`, `unauthorized`, `forbidden`,
 * `client_scope`, `not_found`, `idempotency_key_reused`, `rate_limited`, `ledger_unavailable`,
 * `ledger_busy` and `database_unavailable`. A 503 for a transfer means "do not hand the data over".
 */
export class ProblemError extends Error {
  override readonly name = 'ProblemError'
  /** The problem `type` URI. */
  readonly type: string
  readonly title: string
  readonly detail: string | undefined
  /** Validation errors of a 400, one per offending field; empty otherwise. */
  readonly errors: readonly ValidationIssue[]
  /** The request id (X-Request-Id), to quote when asking the operators. */
  readonly instance: string | undefined
  /** Seconds the service asked to wait (Retry-After), when it did. */
  readonly retryAfterSeconds: number | undefined

  constructor(
    readonly status: number,
    /** The problem's `code` member, else the last segment of its `type`. */
    readonly code: string,
    readonly problem: Problem,
    retryAfterSeconds?: number
  ) {
    super(problem.detail ?? problem.title)
    this.type = problem.type
    this.title = problem.title
    this.detail = problem.detail
    this.errors = problem.errors ?? []
    this.instance = problem.instance
    this.retryAfterSeconds = retryAfterSeconds
  }

  /** `client_scope`: the ledger entry that recorded the refused attempt. */
  get entry(): RecordedAttempt | undefined {
    return this.problem.entry
  }

  /**
   * The error for a response that is not a success.
   * @param body the parsed JSON body, or undefined when the body was not JSON
   */
  static from(response: Response, body: unknown): ProblemError {
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'))
    if (isProblem(body)) {
      const code = typeof body.code === 'string' && body.code !== '' ? body.code : (body.type.split('/').pop() ?? 'unknown')
      return new ProblemError(response.status, code, body, retryAfter)
    }
    const problem: Problem = {
      type: 'about:blank',
      title: response.statusText || `HTTP ${response.status}`,
      status: response.status,
      detail: `the service answered ${response.status} without a problem document`
    }
    return new ProblemError(response.status, 'unexpected_response', problem, retryAfter)
  }
}

export function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false
  const candidate = body as Record<string, unknown>
  return typeof candidate.type === 'string' && typeof candidate.title === 'string' && typeof candidate.status === 'number'
}

/** Retry-After as seconds: delay-seconds or an HTTP-date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text)
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}
