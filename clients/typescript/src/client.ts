import createClient, { type Client } from 'openapi-fetch'
import { ProblemError } from './errors.js'
import type { paths } from './generated/openapi.js'
import { retryingFetch, type RetryHooks, type RetryOptions } from './retry.js'
import type { Decision, DecisionRequest, DecisionRequestBody } from './types.js'

export interface DataSharingClientOptions extends RetryHooks {
  /** The service's address, e.g. https://data-sharing.shizenha.example */
  readonly baseUrl: string
  /** This system's bearer token, or a function that returns the current one. */
  readonly token: string | (() => string | Promise<string>)
  /** The language of `reasons[].message` (Accept-Language); the service defaults to English. */
  readonly language?: 'ja' | 'en'
  readonly retry?: RetryOptions
  /** The fetch to send requests with (default globalThis.fetch). */
  readonly fetch?: (request: Request) => Promise<Response>
}

export interface CallOptions {
  readonly signal?: AbortSignal
}

export interface TransferOptions extends CallOptions {
  /**
   * Makes the transfer (or batch) safe to repeat: the same key with the same body returns the first answer
   * and records nothing new. Default: a fresh random UUID per call, reused by its retries. Pass
   * your own (an order or invoice number) to stay safe across your own process restarts too.
   */
  readonly idempotencyKey?: string
}

export interface DataSharingClient {
  /**
   * Evaluates a hand-off without recording it (POST /v1/checks): allow or deny.
   * @throws ProblemError on 400 (invalid request), 401, 403 (`client_scope`: outside this
   * client's channels or purposes, recorded), 429 and 503 once retries are spent.
   */
  check(request: DecisionRequest, options?: CallOptions): Promise<Decision>
  /**
   * Decides a hand-off and records it in the ledger (POST /v1/transfers), with an
   * Idempotency-Key. An allow (201) and a deny (403) are both answers: the Decision, with its
   * ledger `entry`. Hand the data over only when `decision` is `allow`.
   * @throws ProblemError on 400, 401, 403 `client_scope` (recorded, but not a decision on the
   * hand-off), 422 (the key was used with another body), 429, and 503 (nothing was recorded or
   * allowed: do not hand the data over) once retries are spent.
   */
  transfer(request: DecisionRequest, options?: TransferOptions): Promise<Decision>
  /**
   * Up to 1000 hand-offs decided and recorded in one transaction (POST /v1/transfers/batch);
   * decisions in request order. Sent with an Idempotency-Key, as `transfer` is, so a retry after
   * a 503 or a lost answer returns the batch already recorded instead of recording it twice.
   * @throws ProblemError as `transfer` does.
   */
  transferBatch(items: readonly DecisionRequest[], options?: TransferOptions): Promise<Decision[]>
  /**
   * The typed openapi-fetch client for every other route, with the token, language and
   * retries applied. Use `unwrap` on its results to get the data or a ProblemError.
   */
  readonly api: Client<paths>
}

/** Whether the body of `response` is a problem document (as opposed to a Decision). */
function isProblemResponse(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().startsWith('application/problem+json')
}

/**
 * The data of an openapi-fetch result.
 * @throws ProblemError for any answer that is not a success
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T
  throw ProblemError.from(result.response, result.error)
}

export function createDataSharingClient(options: DataSharingClientOptions): DataSharingClient {
  const base = options.fetch ?? ((request: Request) => globalThis.fetch(request))
  const api = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    fetch: retryingFetch(base, options.retry, options)
  })
  api.use({
    async onRequest({ request }) {
      const token = typeof options.token === 'function' ? await options.token() : options.token
      request.headers.set('authorization', `Bearer ${token}`)
      if (options.language) request.headers.set('accept-language', options.language)
      return request
    }
  })

  return {
    api,
    async check(request, callOptions = {}) {
      return unwrap(await api.POST('/v1/checks', { body: asBody(request), ...signalOf(callOptions) }))
    },
    async transfer(request, transferOptions = {}) {
      const idempotencyKey = transferOptions.idempotencyKey ?? globalThis.crypto.randomUUID()
      const result = await api.POST('/v1/transfers', {
        body: asBody(request),
        params: { header: { 'idempotency-key': idempotencyKey } },
        ...signalOf(transferOptions)
      })
      // A deny is an answer: recorded, with its reasons and entry. Only a problem is an error.
      if (result.response.status === 403 && !isProblemResponse(result.response)) return result.error as Decision
      return unwrap(result)
    },
    async transferBatch(items, transferOptions = {}) {
      const idempotencyKey = transferOptions.idempotencyKey ?? globalThis.crypto.randomUUID()
      const result = await api.POST('/v1/transfers/batch', {
        body: { items: items.map(asBody) },
        params: { header: { 'idempotency-key': idempotencyKey } },
        ...signalOf(transferOptions)
      })
      return unwrap(result).results
    }
  }
}

/** The wire type has mutable arrays; the request is only serialized, never changed. */
function asBody(request: DecisionRequest): DecisionRequestBody {
  return request as DecisionRequestBody
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {}
}
