import { readFile } from 'node:fs/promises'
import t from 'tap'
import { REASON_CODES, REASONS } from '../../src/policy/reasons.js'

// README.ja.md is the documentation the co-op's ops and audit staff read first: it must not fall
// behind the reason codes the engine gives or the settings README.md documents.

const readme = readFile(new URL('../../README.md', import.meta.url), 'utf8')
const readmeJa = readFile(new URL('../../README.ja.md', import.meta.url), 'utf8')

/** Splits a Markdown table row into its trimmed cells; `\|` inside a cell is not a separator. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim())
}

/**
 * The body rows of the first table whose header row matches `header`: the lines after the header
 * and its separator, up to the first line that is not a table row.
 * @throws when no such table exists, so a renamed header fails loudly instead of checking nothing
 */
function tableRows(markdown: string, header: RegExp, what: string): string[][] {
  const lines = markdown.split(/\r?\n/)
  const start = lines.findIndex((line) => header.test(line))
  if (start < 0) throw new Error(`${what}: no table with a header matching ${header}`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break
    rows.push(cells(line))
  }
  return rows
}

/** The variable name in a first cell such as "`DATABASE_URL`" or "`DATABASE_READ_URL` ※". */
function envName(cell: string): string | undefined {
  return /`([A-Z][A-Z0-9_]*)`/.exec(cell)?.[1]
}

const ENGLISH_ENV_HEADER = /^\|\s*env\s*\|\s*default\s*\|\s*meaning\s*\|/
const JAPANESE_ENV_HEADER = /^\|\s*環境変数\s*\|\s*既定値\s*\|\s*意味\s*\|/
const REASON_HEADER = /^\|\s*コード\s*\|\s*条項\s*\|\s*法令\s*\|\s*意味\s*\|\s*対処\s*\|/

t.test('every reason code of src/policy/reasons.ts has a row in the reason table of README.ja.md', async (t) => {
  const rows = tableRows(await readmeJa, REASON_HEADER, 'README.ja.md')
  const documented = new Map<string, string[]>()
  for (const row of rows) {
    const code = /^`([a-z_]+)`$/.exec(row[0] ?? '')?.[1]
    t.ok(code, `the first cell of a reason row is one code in backticks: ${row[0]}`)
    if (code === undefined) continue
    t.notOk(documented.has(code), `${code} has one row only`)
    documented.set(code, row)
  }

  const codes = new Set<string>([...REASON_CODES, ...Object.keys(REASONS)])
  t.ok(codes.size > 0, 'reasons.ts defines reason codes')
  for (const code of codes) t.ok(documented.has(code), `README.ja.md documents ${code}`)

  for (const [code, row] of documented) {
    t.ok(codes.has(code), `${code} in README.ja.md is a reason code of reasons.ts (not a stale or misspelt row)`)
    t.equal(row.length, 5, `${code}: code, 条項, 法令, 意味, 対処`)
    const definition = (REASONS as Record<string, { clause: string } | undefined>)[code]
    if (definition !== undefined) t.equal(row[1]?.replace(/`/g, ''), definition.clause, `${code}: 条項 is the clause reasons.ts gives`)
    t.ok(row[3], `${code}: 意味 is filled in`)
    t.ok(row[4], `${code}: 対処 is filled in`)
  }
})

t.test('every environment variable of README.md is in the environment table of README.ja.md', async (t) => {
  const english = tableRows(await readme, ENGLISH_ENV_HEADER, 'README.md')
    .map((row) => envName(row[0] ?? ''))
    .filter((name): name is string => name !== undefined)
  // The table starts with PORT, HOST, DATABASE_URL…: finding none means the parsing broke.
  t.ok(english.includes('DATABASE_URL') && english.length >= 5, `README.md's env table is read (${english.length} variables)`)

  const japanese = new Set(
    tableRows(await readmeJa, JAPANESE_ENV_HEADER, 'README.ja.md')
      .map((row) => envName(row[0] ?? ''))
      .filter((name): name is string => name !== undefined)
  )
  for (const name of english) t.ok(japanese.has(name), `README.ja.md's environment table documents ${name}`)
})

t.test('README.md links the Japanese version', async (t) => {
  t.match(await readme, /\]\(README\.ja\.md\)/, 'README.md has a link to README.ja.md')
})

t.test('both READMEs give the exit code a bad setting has: 78, as src/server.ts exits on a ConfigError', async (t) => {
  const server = await readFile(new URL('../../src/server.ts', import.meta.url), 'utf8')
  t.match(server, /instanceof ConfigError\)[\s\S]{0,120}process\.exit\(78\)/, 'src/server.ts exits 78 on a ConfigError')
  t.match(await readme, /A bad setting exits 78\b/, 'README.md says so')
  t.match(await readmeJa, /環境変数の値が不正な場合は[^。]*終了コード 78/, 'README.ja.md says so')
})

t.test('README.ja.md says of README.md only what is true: the two roles are there, and a ※ variable is not in its env table', async (t) => {
  t.match(await readme, /^### Two database roles$/m, 'README.md documents the two database roles')
  t.notMatch(await readmeJa, /英語版 README に(は)?まだ記載がない/, 'README.ja.md does not say it lacks them')
  const english = new Set(
    tableRows(await readme, ENGLISH_ENV_HEADER, 'README.md')
      .map((row) => envName(row[0] ?? ''))
      .filter((name): name is string => name !== undefined)
  )
  const marked = tableRows(await readmeJa, JAPANESE_ENV_HEADER, 'README.ja.md').filter((row) => row[0]?.includes('※'))
  t.ok(marked.length > 0, 'some variables are marked')
  for (const row of marked) t.notOk(english.has(envName(row[0] ?? '') ?? ''), `${row[0]}: marked as missing from README.md's env table, and it is`)
})
