import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { DomainError, InvalidRequestError } from '../errors.js'

const RFC3339 = /^(\d{4})-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/
/** Real offsets run from -12:00 to +14:00; PostgreSQL refuses what lies far beyond. */
const MAX_OFFSET_MINUTES = 14 * 60
const EARLIEST_YEAR = 1900
const LATEST_YEAR = 9999

/**
 * RFC 3339 with an offset, that JavaScript and PostgreSQL can both hold: a leap second (…:60)
 * would become an invalid Date, year 0000 and offsets past ±14:00 are refused by the database.
 */
export function isInstant(value: string): boolean {
  const match = RFC3339.exec(value)
  if (!match) return false
  const year = Number(match[1])
  const offsetMinutes = match[3] === undefined ? 0 : Number(match[3]) * 60 + Number(match[4])
  return year >= EARLIEST_YEAR && year <= LATEST_YEAR && offsetMinutes <= MAX_OFFSET_MINUTES && !Number.isNaN(Date.parse(value))
}

export const TIMESTAMP_EXPECTED = `RFC 3339 with an offset within ±14:00 and a year from ${EARLIEST_YEAR} to ${LATEST_YEAR}, e.g. 2026-04-01T10:00:00+09:00`

/** A JSON body labelled with another charset: it was decoded as UTF-8 and would be misread, so nothing is done. */
export class UnsupportedCharsetError extends DomainError {
  constructor() {
    super('unsupported_media_type', 415, 'Unsupported Media Type', 'the body must be application/json in UTF-8: send charset=utf-8 or no charset')
  }
}

/** JSON is UTF-8 (RFC 8259 §8.1); `utf8` is the common misspelling every library accepts. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8'])

/** Whether a Content-Type names no charset, or UTF-8 (in any case, quoted or not). */
export function isUtf8ContentType(contentType: string): boolean {
  for (const parameter of contentType.split(';').slice(1)) {
    const separator = parameter.indexOf('=')
    if (separator < 0 || parameter.slice(0, separator).trim().toLowerCase() !== 'charset') continue
    const value = parameter
      .slice(separator + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase()
    if (!UTF8_CHARSETS.has(value)) return false
  }
  return true
}

/** Bodies nest a few levels at most; a deeper one is refused before anything walks it recursively. */
export const MAX_JSON_DEPTH = 32

/** The deepest nesting of arrays and objects in JSON text, without parsing it. */
function jsonDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i += 1
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth)
    else if (c === 0x7d || c === 0x5d) depth -= 1
  }
  return deepest
}

/**
 * Ids are UUIDs in any letter case on the way in (SQL Server and .NET send upper case), and one
 * form, lower case, from there on: what is hashed, stored and compared must be the same text.
 */
const LOWERCASE_KEYWORD = 'x-lowercase'

function compiler(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, removeAdditional: false, ...options })
  addFormats.default(ajv)
  ajv.addFormat('date-time', { type: 'string', validate: isInstant })
  ajv.addKeyword({
    keyword: LOWERCASE_KEYWORD,
    type: 'string',
    modifying: true,
    schemaType: 'boolean',
    compile: (enabled: boolean) => (data: string, context?: { parentData: Record<string | number, unknown>; parentDataProperty: string | number }) => {
      if (enabled && context?.parentData !== undefined) context.parentData[context.parentDataProperty] = data.toLowerCase()
      return true
    }
  })
  return ajv
}

/** NUL cannot be stored in PostgreSQL text, and a lone surrogate cannot be hashed as UTF-8. */
function findUnstorableString(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') || !value.isWellFormed() ? path : null
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableString(item, `${path}/${index}`)
      if (found) return found
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findUnstorableString(key, path) ?? findUnstorableString(item, `${path}/${key}`)
      if (found) return found
    }
  }
  return null
}

/**
 * Bodies are validated strictly: no coercion and no silent removal of unknown fields, so a
 * field the contract does not know is a 400 rather than ignored. Query strings and path
 * parameters arrive as text and are coerced to the schema's types.
 */
export default fp(
  async function validation(fastify: FastifyInstance) {
    const strict = compiler({ coerceTypes: false, allErrors: true })
    const lenient = compiler({ coerceTypes: 'array' })
    fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema))
    const parseJson = fastify.getDefaultJsonParser('error', 'error')
    fastify.removeContentTypeParser('application/json')
    fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (!isUtf8ContentType(request.headers['content-type'] ?? '')) {
        done(new UnsupportedCharsetError(), undefined)
        return
      }
      if (jsonDepth(body as string) > MAX_JSON_DEPTH) {
        done(new InvalidRequestError('too_deeply_nested', `the body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined)
        return
      }
      void parseJson(request, body as string, done)
    })
    fastify.addHook('preValidation', async (request) => {
      const path = findUnstorableString(request.body, 'body')
      if (path) throw new InvalidRequestError('unstorable_text', `${path} contains a NUL character or an unpaired surrogate`)
    })
  },
  { name: 'validation' }
)
