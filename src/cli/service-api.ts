import { CliError, EXIT, unreachable, usageError } from './exit.js'

/** 503s that mean the service cannot reach its database; other 503s are refusals of the work. */
const UNREACHABLE_CODES = new Set(['database_unavailable', 'ledger_unavailable', 'not_ready'])

interface Problem {
  readonly status?: number
  readonly code?: string
  readonly type?: string
  readonly detail?: string
  readonly errors?: readonly { path: string; message: string }[]
}

/** The error for a refusal of the service, with the exit code its status calls for. */
async function refusal(response: Response, what: string): Promise<CliError> {
  let problem: Problem = {}
  try {
    problem = (await response.json()) as Problem
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const code = problem.code ?? problem.type?.split('/').pop() ?? `http_${response.status}`
  const fields = (problem.errors ?? []).map((e) => `\n  ${e.path}: ${e.message}`).join('')
  const message = `${what}: the service answered ${response.status} ${code}${problem.detail ? `: ${problem.detail}` : ''}${fields}`
  if (response.status === 401) return new CliError(`${message} (is SHIZENHA_TOKEN the token of an admin or ops client?)`, EXIT.failure, code)
  if (response.status === 400) return new CliError(message, EXIT.usage, code)
  if (response.status === 503 && UNREACHABLE_CODES.has(code)) return new CliError(message, EXIT.unreachable, code)
  return new CliError(message, EXIT.failure, code)
}

export interface SendOptions {
  readonly query?: Record<string, string | undefined>
  readonly body?: unknown
}

/**
 * The service's HTTP API with a bearer token, for the commands run with --url: from any host
 * that can reach the service, and while the service holds the embedded database.
 */
export class ServiceApi {
  private constructor(
    private readonly base: URL,
    private readonly token: string
  ) {}

  /** @throws CliError (usage) for a URL that is not http(s) or a missing SHIZENHA_TOKEN */
  static connect(url: string, token: string | undefined): ServiceApi {
    let base: URL
    try {
      base = new URL(url)
    } catch {
      throw usageError(`--url must be the service's address, e.g. http://127.0.0.1:3000 (got "${url}")`)
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usageError('--url must be an http:// or https:// address')
    if (base.username || base.password) throw usageError('--url must not carry credentials: put the token in SHIZENHA_TOKEN')
    if (!token) throw usageError('--url needs a token: set SHIZENHA_TOKEN to the bearer token of an admin client (ops may read)')
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    return new ServiceApi(base, token)
  }

  get origin(): string {
    return this.base.origin
  }

  /**
   * Sends one request and returns the response of a success.
   * @throws CliError: unreachable (3) when the service cannot be reached or cannot reach its
   * database; usage (2) for a 400; failure (1) for any other refusal.
   */
  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.base)
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, value)
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw unreachable(`cannot reach the service at ${this.base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
    }
    if (!response.ok) throw await refusal(response, `${method} ${url.pathname}`)
    return response
  }

  async json<T>(method: string, path: string, options: SendOptions = {}): Promise<T> {
    return (await (await this.send(method, path, options)).json()) as T
  }
}
