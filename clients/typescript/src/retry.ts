import { retryAfterSeconds } from './errors.js'

export interface RetryOptions {
  /** Attempts in all, the first included (default 4); 1 turns retrying off. */
  readonly attempts?: number
  /** The first backoff step (default 250 ms); it doubles with each attempt, with full jitter. */
  readonly baseDelayMs?: number
  /** The longest backoff step (default 8 s). */
  readonly maxBackoffMs?: number
  /**
   * The longest Retry-After the client waits for (default 60 s). A response asking for longer is
   * handed to the caller as it is (a ProblemError carrying retryAfterSeconds).
   */
  readonly maxRetryAfterMs?: number
}

/** What the client tells `onRetry` before it waits and tries again. */
export interface RetryEvent {
  /** The attempt that failed, from 1. */
  readonly attempt: number
  readonly delayMs: number
  readonly method: string
  readonly url: string
  /** The status that made it retry; undefined when the request did not reach the service. */
  readonly status: number | undefined
  readonly idempotencyKey: string | undefined
  readonly error: unknown
}

export interface RetryHooks {
  /** Waits `ms`; rejects when `signal` aborts. Replace it in tests to observe the waits. */
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>
  /** A number in [0, 1) for the jitter (default Math.random). */
  readonly random?: () => number
  readonly onRetry?: (event: RetryEvent) => void
}

const DEFAULTS = { attempts: 4, baseDelayMs: 250, maxBackoffMs: 8_000, maxRetryAfterMs: 60_000 } as const

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const done = () => {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    const abort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', abort, { once: true })
  })
}

/**
 * Whether repeating the request can never record anything twice: reads, checks (they record
 * nothing but refused attempts), and anything carrying an Idempotency-Key (the service answers
 * a repeat with the first response).
 */
function repeatable(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return true
  if (request.headers.has('idempotency-key')) return true
  return request.method === 'POST' && new URL(request.url).pathname.endsWith('/v1/checks')
}

/**
 * A fetch that tries again, with exponential backoff and full jitter, up to `attempts` in all:
 * - 429 always (the service refused before doing anything), after its Retry-After;
 * - 503 and network failures only for repeatable requests (see above): a call without a key
 *   whose commit was cut off may have been recorded, so it is not sent twice;
 * - every retry sends the same request again, the same Idempotency-Key included.
 * A Retry-After is honoured (plus a little jitter, so callers do not return all at once).
 */
export function retryingFetch(
  base: (request: Request) => Promise<Response>,
  options: RetryOptions = {},
  hooks: RetryHooks = {}
): (request: Request) => Promise<Response> {
  const attempts = Math.max(1, Math.floor(options.attempts ?? DEFAULTS.attempts))
  const baseDelayMs = options.baseDelayMs ?? DEFAULTS.baseDelayMs
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs
  const wait = hooks.sleep ?? sleep
  const random = hooks.random ?? Math.random
  const backoff = (attempt: number) => random() * Math.min(maxBackoffMs, baseDelayMs * 2 ** (attempt - 1))

  return async (request) => {
    const mayRepeat = repeatable(request)
    for (let attempt = 1; ; attempt += 1) {
      const last = attempt >= attempts
      let response: Response
      try {
        response = await base(request.clone())
      } catch (error) {
        if (last || !mayRepeat || request.signal.aborted) throw error
        const delayMs = backoff(attempt)
        hooks.onRetry?.(event(request, attempt, delayMs, undefined, error))
        await wait(delayMs, request.signal)
        continue
      }
      const retry = response.status === 429 || (response.status === 503 && mayRepeat)
      if (last || !retry) return response
      const askedSeconds = retryAfterSeconds(response.headers.get('retry-after'))
      const delayMs = askedSeconds === undefined ? backoff(attempt) : askedSeconds * 1000 + random() * baseDelayMs
      if (askedSeconds !== undefined && askedSeconds * 1000 > maxRetryAfterMs) return response
      await response.body?.cancel().catch(() => {})
      hooks.onRetry?.(event(request, attempt, delayMs, response.status, undefined))
      await wait(delayMs, request.signal)
    }
  }
}

function event(request: Request, attempt: number, delayMs: number, status: number | undefined, error: unknown): RetryEvent {
  return {
    attempt,
    delayMs,
    method: request.method,
    url: request.url,
    status,
    idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
    error
  }
}
