#!/usr/bin/env node
// Re-verifies an export of the audit ledger (GET /v1/ledger/export, JSON Lines) with nothing
// but Node's standard library, so an auditor needs to trust only the published algorithm:
//
//   hash    = lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the entry
//             without its "hash" member
//   chain   = entries with the same "chain", ordered by "seq" = 1, 2, 3, … without gaps
//   link    = each entry's "prevHash" is the previous entry's "hash"; 64 zeros for seq 1
//
// Usage: node scripts/verify-ledger-export.mjs ledger.jsonl   (or pipe the export to stdin)
// Exit 0 and "ok …" when every entry verifies; exit 1 naming the first entry that does not.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

const GENESIS = '0'.repeat(64)

// RFC 8785: primitives as ECMAScript JSON.stringify writes them, object members sorted by
// their names' UTF-16 code units, no whitespace.
function canonical(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const names = Object.keys(value).sort()
  return `{${names.map((name) => `${JSON.stringify(name)}:${canonical(value[name])}`).join(',')}}`
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

async function main() {
  const input = process.argv[2] ? createReadStream(process.argv[2]) : process.stdin
  const chains = new Map()
  let lineNumber = 0
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber += 1
    if (line.trim() === '') continue
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      return fail(`line ${lineNumber} is not JSON`)
    }
    const list = chains.get(entry.chain) ?? []
    list.push(entry)
    chains.set(entry.chain, list)
  }
  let checked = 0
  for (const [chain, entries] of [...chains].sort((a, b) => a[0] - b[0])) {
    entries.sort((a, b) => a.seq - b.seq)
    let previous = GENESIS
    for (const [index, entry] of entries.entries()) {
      const where = `entry ${entry.id} (chain ${chain}, seq ${entry.seq})`
      if (entry.seq !== index + 1) return fail(`${where}: expected seq ${index + 1}`)
      if (entry.prevHash !== previous) return fail(`${where}: prevHash does not match the previous entry`)
      const { hash, ...content } = entry
      if (sha256(canonical(content)) !== hash) return fail(`${where}: content does not match its hash`)
      previous = hash
      checked += 1
    }
    process.stdout.write(`chain ${chain}: ${entries.length} entries, head ${previous}\n`)
  }
  process.stdout.write(`ok: ${checked} entries in ${chains.size} chains verify\n`)
}

function fail(message) {
  process.stdout.write(`FAILED: ${message}\n`)
  process.exitCode = 1
}

main().catch((err) => {
  process.stderr.write(`error: ${err.message}\n`)
  process.exitCode = 2
})
