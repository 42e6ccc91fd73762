// Writes openapi/openapi.json from the running schema, so the committed document can never
// drift from the routes (test/openapi.test.ts fails when it does).
import { writeFile } from 'node:fs/promises'
import { openApiDocument } from '../src/openapi-document.js'

const document = await openApiDocument()
await writeFile(new URL('../openapi/openapi.json', import.meta.url), `${JSON.stringify(document, null, 2)}\n`)
process.stdout.write('wrote openapi/openapi.json\n')
