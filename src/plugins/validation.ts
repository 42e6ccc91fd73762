import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidRequestError } from '../errors.js'

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

/** RFC 3339 that JavaScript can also read: a leap second (…:60) would become an invalid Date. */
function isInstant(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value))
}

function compiler(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, removeAdditional: false, ...options })
  addFormats.default(ajv)
  ajv.addFormat('date-time', { type: 'string', validate: isInstant })
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
    fastify.addHook('preValidation', async (request) => {
      const path = findUnstorableString(request.body, 'body')
      if (path) throw new InvalidRequestError('unstorable_text', `${path} contains a NUL character or an unpaired surrogate`)
    })
  },
  { name: 'validation' }
)
