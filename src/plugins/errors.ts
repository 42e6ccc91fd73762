import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Socket } from 'node:net'
import { classifyDatabaseError } from '../db/errors.js'
import { DatabaseUnavailableError, DomainError, UnauthorizedError, ValueOutOfRangeError } from '../errors.js'
import type { ProblemBody } from '../schemas.js'
import { TIMESTAMP_EXPECTED } from './validation.js'

const PROBLEM_TYPE_BASE = 'https://shizenha.example/problems/'

interface ValidationIssue {
  instancePath: string
  message?: string
  keyword: string
  params: Record<string, unknown>
}

function issuePath(context: string | undefined, issue: ValidationIssue): string {
  const extra =
    typeof issue.params.missingProperty === 'string'
      ? `/${issue.params.missingProperty}`
      : typeof issue.params.additionalProperty === 'string'
        ? `/${issue.params.additionalProperty}`
        : ''
  return `${context ?? 'body'}${issue.instancePath}${extra}`
}

function issueMessage(issue: ValidationIssue): string {
  if (issue.keyword === 'additionalProperties') return 'is not a field of this request'
  if (issue.keyword === 'false schema') return 'is not used by this channel'
  if (issue.keyword === 'enum') return `must be one of: ${(issue.params.allowedValues as unknown[]).join(', ')}`
  if (issue.keyword === 'format' && issue.params.format === 'date-time') return `must be ${TIMESTAMP_EXPECTED}`
  return issue.message ?? 'is invalid'
}

/** Fastify's own client errors, with wording that never echoes the body back. */
const FRAMEWORK_ERRORS: Record<string, { status: number; title: string; detail: string; code: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', detail: 'the body must be application/json', code: 'unsupported_media_type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, title: 'Content Too Large', detail: 'the body is larger than the limit', code: 'malformed_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, title: 'Bad Request', detail: 'the body is empty', code: 'malformed_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, title: 'Bad Request', detail: 'the body is not valid JSON', code: 'malformed_request' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, title: 'Bad Request', detail: 'the Content-Length does not match the body', code: 'malformed_request' },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, title: 'Bad Request', detail: 'the Content-Type header is invalid', code: 'malformed_request' },
  FST_ERR_BAD_URL: { status: 400, title: 'Bad Request', detail: 'the URL is malformed', code: 'malformed_request' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, title: 'Bad Request', detail: 'the request is malformed', code: 'malformed_request' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, title: 'URI Too Long', detail: 'a path parameter is too long', code: 'malformed_request' }
}

/** Errors Fastify raises before routing (a malformed URL, an over-long parameter). */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK_ERRORS[error.code] ?? FRAMEWORK_ERRORS.FST_ERR_ASYNC_CONSTRAINT!
  void sendProblem(reply, { ...known, instance: request.id })
}

/** What the HTTP parser or its deadlines refuse before Fastify has a request (no request id yet). */
const CONNECTION_ERRORS: Record<string, { status: number; title: string; detail: string; code: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request Timeout',
    detail: 'the request did not arrive in full within REQUEST_TIMEOUT_MS; nothing was done',
    code: 'request_timeout'
  },
  HPE_HEADER_OVERFLOW: { status: 431, title: 'Request Header Fields Too Large', detail: 'the request headers are too large', code: 'malformed_request' }
}
const MALFORMED_CONNECTION = { status: 400, title: 'Bad Request', detail: 'the request is malformed', code: 'malformed_request' }

/**
 * Fastify's `clientErrorHandler`: a request that timed out or cannot be parsed gets a problem+json
 * answer (Fastify's own is plain JSON) where one is still possible, and its connection is closed.
 * No answer goes out once another answer on the socket has begun: the client would read one
 * answer spliced into the other.
 */
export function connectionErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const problem = CONNECTION_ERRORS[error.code] ?? MALFORMED_CONNECTION
  this.log.info({ code: problem.code, status: problem.status, errorCode: error.code }, 'connection closed: request refused')
  const answering = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage
  if (socket.writable && !answering?.headersSent) {
    const body = JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${problem.code}`, ...problem })
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
    )
  }
  socket.destroy()
}

export function sendProblem(reply: FastifyReply, problem: Omit<ProblemBody, 'type'> & { code: string }): FastifyReply {
  // Every 503 means "not now" (the database is away, the ledger cannot record): saying when to
  // come back makes well-behaved clients wait instead of retrying at once. Five seconds is the
  // pool's connect timeout, the time the next attempt may spend finding out.
  if (problem.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '5')
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: `${PROBLEM_TYPE_BASE}${problem.code}`, ...problem })
}

function toProblem(error: FastifyError, request: FastifyRequest): Omit<ProblemBody, 'type'> & { code: string } {
  if (error instanceof DomainError) {
    return { ...error.extensions, status: error.status, title: error.title, detail: error.message, code: error.code }
  }
  if (error.validation) {
    return {
      status: 400,
      title: 'Bad Request',
      code: 'validation_failed',
      detail: 'the request does not match the schema',
      errors: (error.validation as unknown as ValidationIssue[])
        // An if/then rule reports its `then` failures on their own; the `if` line adds nothing.
        .filter((issue) => issue.keyword !== 'if')
        .map((issue) => ({ path: issuePath(error.validationContext, issue), message: issueMessage(issue) }))
    }
  }
  const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined
  if (known) return known
  if (error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)) {
    return { status: error.statusCode ?? 400, title: 'Bad Request', code: 'malformed_request', detail: 'the request is malformed' }
  }
  const failure = classifyDatabaseError(error)
  if (failure !== 'internal') {
    request.log.warn({ err: error }, failure === 'unavailable' ? 'database unavailable' : 'database refused a value')
    return toProblem(failure === 'unavailable' ? new DatabaseUnavailableError() : new ValueOutOfRangeError(), request)
  }
  request.log.error({ err: error }, 'unhandled error')
  return { status: 500, title: 'Internal Server Error', code: 'internal_error', detail: 'an internal error occurred' }
}

/** Maps every error to RFC 9457 problem+json; 5xx bodies stay generic, the log keeps `{ err }`. */
export default fp(
  async function errors(fastify: FastifyInstance) {
    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toProblem(error, request)
      if (error instanceof UnauthorizedError) reply.header('www-authenticate', error.challenge)
      if (problem.status >= 400 && problem.status < 500 && !(error instanceof DomainError)) {
        request.log.info({ code: problem.code, status: problem.status }, 'request rejected')
      }
      return sendProblem(reply, { ...problem, instance: request.id })
    })
    fastify.setNotFoundHandler(async (request, reply) => {
      // Under /v1 even a wrong path needs a token, so the API's shape cannot be probed anonymously;
      // a failure here counts against the address as on any route (401, then 429).
      if (request.url.startsWith('/v1')) await fastify.authenticate(request, reply)
      return sendProblem(reply, { status: 404, title: 'Not Found', code: 'route_not_found', detail: 'no such route', instance: request.id })
    })
  },
  { name: 'errors' }
)
