import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

function compiler(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, removeAdditional: false, ...options })
  addFormats.default(ajv)
  return ajv
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
  },
  { name: 'validation' }
)
